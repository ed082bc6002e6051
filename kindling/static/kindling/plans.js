// Plan & usage page: the usage chart (Chart.js) and the plan slider with its "Change to <plan>".
(() => {
  const data = JSON.parse(document.getElementById("usage-data")?.textContent || "null");
  const canvas = document.getElementById("usage-chart");
  if (data && canvas && window.Chart) {
    const datasets = [
      { label: "Runs used", data: data.used, borderColor: "#0d6efd", backgroundColor: "rgba(13,110,253,.15)", fill: true, tension: 0.1 },
      { label: "Pace to the end of the cycle", data: data.pace, borderColor: "#6c757d", borderDash: [6, 4], pointRadius: 0 },
    ];
    if (data.limit.length) {
      datasets.push({ label: "Limit", data: data.limit, borderColor: "#dc3545", pointRadius: 0 });
    }
    new Chart(canvas, {
      type: "line",
      data: { labels: data.labels, datasets },
      options: { maintainAspectRatio: false, animation: false, scales: { y: { beginAtZero: true } } },
    });
  }

  const slider = document.getElementById("plan-slider");
  const button = document.getElementById("change-plan-button");
  if (!slider) return;
  const current = slider.value;
  const show = () => {
    let chosen = null;
    document.querySelectorAll(".kindling-plan").forEach((card) => {
      card.hidden = card.dataset.index !== slider.value;
      if (!card.hidden) chosen = card;
    });
    if (!button || !chosen) return;
    button.textContent = `Change to ${chosen.dataset.name}`;
    button.disabled = slider.value === current;
    document.getElementById("change-plan-input").value = chosen.dataset.id;
    document.getElementById("change-plan-body").textContent =
      `The project moves to the ${chosen.dataset.name} plan now: its limits apply from the next run.` +
      (chosen.dataset.paid === "true" ? " It is a paid plan, billed to your card." : "");
    document.getElementById("change-plan-dialog-title").textContent = `Change to ${chosen.dataset.name}?`;
  };
  slider.addEventListener("input", show);
  show();
})();
