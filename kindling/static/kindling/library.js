// The Job Library's job page: colours the expression with Monaco's colorizer, the highlighting Job
// Studio's editor uses (served from this site). Without it the code stays plain text, still readable.
(() => {
  const code = document.getElementById("library-code");
  const data = document.getElementById("library-highlight");
  if (!code || !data) return;
  const config = JSON.parse(data.textContent);
  const loader = document.createElement("script");
  loader.src = `${config.monaco}/loader.js`;
  loader.addEventListener("load", () => {
    window.require.config({ paths: { vs: config.monaco } });
    window.require(["vs/editor/editor.main"], () => {
      const monaco = window.monaco;
      monaco.editor.setTheme(config.theme);
      monaco.editor.colorize(code.textContent, "javascript", { tabSize: 2 }).then((html) => {
        code.innerHTML = html;
        code.dataset.theme = config.theme;
        code.dataset.highlighted = "true";
      });
    });
  });
  document.head.appendChild(loader);
})();
