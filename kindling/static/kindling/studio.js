// Job Studio. The page is a plain form that saves without this script; the script adds the wizard and
// the fullscreen mode, the Monaco editor with the adaptor's types, snippets and documentation, the
// compiler's syntax check, the initial-state inspector, adaptor installs, and Save and Run with the
// run's log streamed live (server-sent events).
(() => {
  "use strict";

  const config = JSON.parse(document.getElementById("studio-config").textContent);
  const studio = document.getElementById("studio");
  const form = document.getElementById("studio-form");
  const $ = (id) => document.getElementById(id);
  const fields = {
    name: $("id_name"),
    trigger: $("id_trigger"),
    adaptor: $("id_adaptor"),
    version: $("id_adaptor_version"),
    credential: $("id_credential"),
    expression: $("id_expression"),
    retries: $("id_retry_attempts"),
    backoff: $("id_retry_backoff"),
  };
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  const state = {
    dirty: false,
    editor: null,
    monaco: null,
    operations: [],
    docsFor: null, // "name@version" whose docs and types are loaded
    lastCheck: null, // {ok} or {error, line, column} for the expression as it is now
    stream: null,
  };
  window.KindlingStudio = state; // for people debugging in the console, and for the browser tests

  // Small helpers ---------------------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child != null) node.append(child);
    }
    return node;
  }

  async function send(url, { method = "GET", json, body } = {}) {
    const headers = { "X-CSRFToken": csrf, Accept: "application/json" };
    if (json !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(url, {
      method,
      headers,
      body: json !== undefined ? JSON.stringify(json) : body,
      credentials: "same-origin",
    });
    let data = {};
    try {
      data = await response.json();
    } catch (e) {
      data = { error: `The server answered ${response.status} without details.` };
    }
    return { status: response.status, ok: response.ok, data };
  }

  function toast(text) {
    $("studio-toast-text").textContent = text;
    if (window.bootstrap) window.bootstrap.Toast.getOrCreateInstance($("studio-toast")).show();
  }

  async function copy(text, what) {
    try {
      await navigator.clipboard.writeText(text);
    } catch (e) {
      // No clipboard API (an insecure origin): a selected textarea and the old command.
      const area = el("textarea", { class: "position-fixed opacity-0" });
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    toast(`Copied ${what}`);
  }

  function showError(text) {
    const box = $("studio-error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  // Unsaved changes -------------------------------------------------------------------------------

  function markDirty() {
    if (!state.dirty) {
      state.dirty = true;
      $("studio-dirty").hidden = false;
    }
  }

  function markSaved() {
    state.dirty = false;
    $("studio-dirty").hidden = true;
  }

  form.addEventListener("input", (event) => {
    if (!event.target.closest("#adaptor-install")) markDirty();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name && event.target.name !== "message") markDirty();
  });
  window.addEventListener("beforeunload", (event) => {
    if (state.dirty) {
      event.preventDefault();
      event.returnValue = ""; // the browser asks whether to leave; it writes its own text
    }
  });

  // A deleted or unshared credential: the warning goes once another one is chosen.
  const credentialProblem = $("credential-problem");
  if (credentialProblem) {
    fields.credential.addEventListener("change", () => {
      credentialProblem.hidden = fields.credential.value !== credentialProblem.dataset.staleCredential;
    });
  }

  // Modes and wizard ------------------------------------------------------------------------------

  function applyMode(mode) {
    studio.dataset.mode = mode;
    const fullscreen = mode === "fullscreen";
    const toggle = $("studio-mode-toggle");
    const label = fullscreen ? "Switch to Wizard mode" : "Switch to Fullscreen mode";
    toggle.setAttribute("aria-label", label);
    toggle.title = label;
    toggle.querySelector(".bi").className = `bi ${fullscreen ? "bi-fullscreen-exit" : "bi-arrows-fullscreen"}`;
    $("studio-mode-name").textContent = fullscreen ? "Fullscreen mode" : "Wizard mode";
    state.editor?.layout();
  }

  $("studio-mode-toggle").addEventListener("click", async () => {
    const mode = studio.dataset.mode === "fullscreen" ? "wizard" : "fullscreen";
    applyMode(mode);
    // v1 keeps the last mode as the user's preference (new jobs still open in Wizard mode).
    const saved = await send(config.urls.preferences, { method: "POST", json: { studio_mode: mode } });
    if (!saved.ok) toast(`Could not save your Job Studio mode: ${saved.data.error}`);
  });

  const steps = [...document.querySelectorAll(".kindling-step")];

  function summarize() {
    const text = {
      name: fields.name.value.trim(),
      trigger: fields.trigger.value ? fields.trigger.selectedOptions[0].textContent.trim() : "no trigger",
      adaptor: `${fields.adaptor.value.trim()}@${fields.version.value.trim() || "latest"}`,
      credential: fields.credential.value ? fields.credential.selectedOptions[0].textContent.trim() : "no credential",
    };
    for (const [key, value] of Object.entries(text)) {
      const summary = document.querySelector(`[data-summary-for="${key}"]`);
      if (summary) summary.textContent = value ? `· ${value}` : "";
    }
    $("studio-adaptor-label").textContent = text.adaptor;
    $("studio-retries-summary").textContent = retriesSummary();
  }

  function retriesSummary() {
    const count = Number(fields.retries.value || 0);
    if (!count) return "no retries";
    return `${count} ${count === 1 ? "retry" : "retries"}, ${fields.backoff.value} backoff`;
  }
  for (const input of [fields.retries, fields.backoff]) input.addEventListener("input", summarize);

  function openStep(number) {
    if (number > steps.length) {
      // After the last step comes the expression.
      openStep(steps.length);
      focusEditor();
      return;
    }
    for (const step of steps) {
      const current = Number(step.dataset.step) === number;
      step.classList.toggle("is-current", current);
      step.querySelector(".kindling-step-button").setAttribute("aria-expanded", String(current));
      const body = step.querySelector(".kindling-step-body");
      if (current) body.removeAttribute("data-wizard-hidden");
      else body.setAttribute("data-wizard-hidden", "");
    }
    const target = steps[number - 1].querySelector("input:not([type=hidden]), select");
    if (studio.dataset.mode === "wizard" && target) target.focus();
  }

  for (const step of steps) {
    step.querySelector(".kindling-step-button").addEventListener("click", () => openStep(Number(step.dataset.step)));
  }
  form.addEventListener("click", (event) => {
    const go = event.target.closest("[data-step-go]");
    if (!go) return;
    const from = Number(go.closest(".kindling-step").dataset.step);
    const to = Number(go.dataset.stepGo);
    if (to > from && from === 1 && !fields.name.value.trim()) {
      fields.name.classList.add("is-invalid");
      fields.name.focus();
      showError("Give the job a name first.");
      return;
    }
    fields.name.classList.remove("is-invalid");
    showError("");
    openStep(to);
  });

  // The editor ------------------------------------------------------------------------------------

  function focusEditor() {
    if (state.editor) state.editor.focus();
    else fields.expression.focus();
  }

  function loadMonaco() {
    // The AMD loader is added only now: loaded with the page, its global `define` would make
    // Bootstrap and htmx register as AMD modules instead of setting their globals.
    const loader = el("script", { src: `${config.monaco}/loader.js` });
    loader.addEventListener("load", () => {
      window.require.config({ paths: { vs: config.monaco } });
      window.require(["vs/editor/editor.main"], () => startEditor(window.monaco));
    });
    loader.addEventListener("error", () => {
      $("studio-check").textContent = "The code editor could not load: the expression is a plain text box.";
    });
    document.head.append(loader);
  }

  function javascriptDefaults(monaco) {
    // Monaco 0.55 moved the TypeScript service from languages.typescript to the top level.
    return (monaco.typescript || monaco.languages.typescript).javascriptDefaults;
  }

  function startEditor(monaco) {
    state.monaco = monaco;
    const defaults = javascriptDefaults(monaco);
    // Our compiler decides what is a syntax error (a job is not quite a module); the TypeScript
    // service only completes and documents.
    defaults.setDiagnosticsOptions({ noSemanticValidation: true, noSyntaxValidation: true });
    defaults.setCompilerOptions({
      target: 7, // ES2020
      allowNonTsExtensions: true,
      allowJs: true,
      checkJs: false,
      moduleResolution: 2, // Node: finds file:///node_modules/<adaptor>/package.json
      lib: ["es2020"],
    });
    monaco.languages.registerCompletionItemProvider("javascript", { provideCompletionItems: snippetItems });

    const model = monaco.editor.createModel(fields.expression.value, "javascript", monaco.Uri.parse("file:///job.js"));
    const container = $("studio-editor");
    container.hidden = false;
    fields.expression.hidden = true;
    state.editor = monaco.editor.create(container, {
      model,
      theme: config.theme,
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 13,
      scrollBeyondLastLine: false,
      fixedOverflowWidgets: true,
      tabCompletion: "on",
      snippetSuggestions: "top",
      wordBasedSuggestions: "off",
      ariaLabel: "Expression editor",
    });
    model.onDidChangeContent(() => {
      fields.expression.value = model.getValue();
      markDirty();
      scheduleCheck();
    });
    studio.dataset.editor = "ready";
    loadAdaptor();
    if (fields.expression.value.trim()) scheduleCheck(0);
  }

  function snippetItems(model, position) {
    // Typing the first letters of an operation and pressing Tab inserts its example.
    const monaco = state.monaco;
    const word = model.getWordUntilPosition(position);
    const range = {
      startLineNumber: position.lineNumber,
      endLineNumber: position.lineNumber,
      startColumn: word.startColumn,
      endColumn: word.endColumn,
    };
    const suggestions = state.operations
      .filter((operation) => operation.examples.length)
      .map((operation) => ({
        label: operation.name,
        kind: monaco.languages.CompletionItemKind.Snippet,
        detail: `example · ${operation.origin}`,
        documentation: { value: `${operation.description}\n\n\`\`\`js\n${operation.examples[0].code}\n\`\`\`` },
        insertText: operation.examples[0].snippet,
        insertTextRules: monaco.languages.CompletionItemInsertTextRule.InsertAsSnippet,
        range,
      }));
    return { suggestions };
  }

  // The compiler's syntax check -------------------------------------------------------------------

  let checkTimer = null;
  let checkSequence = 0;

  function scheduleCheck(delay = 600) {
    state.lastCheck = null;
    clearTimeout(checkTimer);
    checkTimer = setTimeout(checkNow, delay);
  }

  async function checkNow() {
    clearTimeout(checkTimer);
    const sequence = ++checkSequence;
    const expression = fields.expression.value;
    $("studio-check").replaceChildren(el("span", { class: "text-body-secondary" }, "Checking the syntax…"));
    let result;
    try {
      result = await send(config.urls.check, { method: "POST", json: { expression } });
    } catch (e) {
      result = { status: 0, data: { error: "The syntax check could not reach the server." } };
    }
    if (sequence !== checkSequence) return state.lastCheck; // an older answer: a newer check is on its way
    const status = $("studio-check");
    const monaco = state.monaco;
    const model = state.editor?.getModel();
    status.replaceChildren();
    if (result.status === 200) {
      state.lastCheck = { ok: true };
      status.append(el("span", { class: "text-success" }, el("i", { class: "bi bi-check-circle", "aria-hidden": "true" }), " No syntax errors"));
      if (monaco && model) monaco.editor.setModelMarkers(model, "kindling", []);
    } else if (result.status === 422) {
      const { error, line, column } = result.data;
      const reason = result.data.reason || error;
      state.lastCheck = { ok: false, error: reason, line, column };
      const where = line ? `Line ${line}, column ${column}: ` : "";
      status.append(el("span", { class: "text-danger kindling-syntax-error" }, el("i", { class: "bi bi-x-circle", "aria-hidden": "true" }), ` ${where}${reason}`));
      if (monaco && model && line) {
        const word = model.getWordAtPosition({ lineNumber: line, column: column || 1 });
        monaco.editor.setModelMarkers(model, "kindling", [
          {
            severity: monaco.MarkerSeverity.Error,
            message: reason,
            startLineNumber: line,
            startColumn: column || 1,
            endLineNumber: line,
            endColumn: word ? word.endColumn : (column || 1) + 1,
          },
        ]);
      }
    } else {
      // The check could not run (no Node, a timeout): say so, and do not block saving.
      state.lastCheck = { ok: true, unchecked: true };
      status.append(el("span", { class: "text-warning" }, result.data.error || "The syntax check is not available."));
    }
    return state.lastCheck;
  }

  async function expressionCompiles() {
    const check = state.lastCheck || (await checkNow());
    if (check && check.ok === false) {
      showError(`The expression has a syntax error${check.line ? ` at line ${check.line}, column ${check.column}` : ""}: ${check.error} Fix it before saving.`);
      if (state.editor && check.line) {
        state.editor.setPosition({ lineNumber: check.line, column: check.column || 1 });
        state.editor.revealLineInCenter(check.line);
        state.editor.focus();
      }
      return false;
    }
    return true;
  }

  // Save stays in Job Studio (to go on editing and testing); Done or the breadcrumb leaves it.
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    $("studio-saved").textContent = "";
    if (!(await expressionCompiles())) return;
    const button = $("studio-save");
    button.disabled = true;
    let answer;
    try {
      answer = await send(config.urls.save, { method: "POST", body: new FormData(form) });
    } catch (e) {
      answer = { ok: false, data: { error: "Could not reach the server: the job is not saved. Try again." } };
    }
    button.disabled = false;
    form.querySelectorAll(".is-invalid").forEach((field) => field.classList.remove("is-invalid"));
    if (!answer.ok) {
      showError(answer.data.error);
      const field = answer.data.field && form.querySelector(`[name="${answer.data.field}"]`);
      if (field) {
        field.classList.add("is-invalid");
        const step = field.closest(".kindling-step");
        if (step && studio.dataset.mode === "wizard") openStep(Number(step.dataset.step));
        const section = field.closest("details");
        if (section) section.open = true;
        field.focus();
      }
      return;
    }
    markSaved();
    if (config.isNew) becomeExisting(answer.data);
    const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    $("studio-saved").textContent = `Saved at ${time}`;
    toast(answer.data.note);
  });

  // Themes ----------------------------------------------------------------------------------------

  document.querySelectorAll("[data-theme]").forEach((item) => {
    item.addEventListener("click", async () => {
      const theme = item.dataset.theme;
      config.theme = theme;
      state.monaco?.editor.setTheme(theme);
      studio.dataset.theme = theme;
      document.querySelectorAll("[data-theme]").forEach((other) => other.setAttribute("aria-checked", String(other === item)));
      const saved = await send(config.urls.preferences, { method: "POST", json: { editor_theme: theme } });
      toast(saved.ok ? `Editor theme: ${item.textContent.trim()} (saved in your settings)` : `Could not save the theme: ${saved.data.error}`);
    });
  });
  studio.dataset.theme = config.theme;

  // Adaptors: picker, types, documentation --------------------------------------------------------

  // The releases on npm, asked for once per adaptor name while the page is open.
  const published = new Map(); // name -> versions, newest first ([] while asking or when npm cannot say)

  async function askPublished(name) {
    if (!/^@openfn\/language-[a-z0-9-]+$/.test(name) || published.has(name)) return;
    published.set(name, []);
    let answer;
    try {
      answer = await send(`${config.urls.versions}?adaptor=${encodeURIComponent(name)}`);
    } catch (e) {
      return; // a convenience: the field still takes any version
    }
    if (!answer.ok) return;
    published.set(name, answer.data.published.slice(0, 40));
    if (fields.adaptor.value.trim() === name) fillVersions();
  }

  function fillVersions() {
    const name = fields.adaptor.value.trim();
    const entry = config.catalogue.adaptors.find((adaptor) => adaptor.name === name);
    const versions = entry ? entry.versions : [];
    askPublished(name);
    const onNpm = (published.get(name) || []).filter((version) => !versions.includes(version));
    $("adaptor-versions").replaceChildren(
      el("option", { value: "latest" }, "newest"),
      ...versions.map((version) => el("option", { value: version }, "installed")),
      ...onNpm.map((version) => el("option", { value: version }, "on npm: installed by the first run")),
    );
    $("adaptor-installed").textContent = versions.length
      ? `Installed versions of ${name}: ${versions.join(", ")}.`
      : name
        ? `No version of ${name} is installed yet: the first run installs the version you choose, or install it below.`
        : "";
  }

  function renderCatalogue() {
    $("adaptor-names").replaceChildren(
      ...config.catalogue.adaptors.map((adaptor) => el("option", { value: adaptor.name }, adaptor.recommended ? "recommended" : "installed")),
    );
    fillVersions();
  }

  let adaptorTimer = null;
  for (const input of [fields.adaptor, fields.version]) {
    input.addEventListener("input", () => {
      summarize();
      fillVersions();
      clearTimeout(adaptorTimer);
      adaptorTimer = setTimeout(loadAdaptor, 500);
    });
    input.addEventListener("change", () => {
      clearTimeout(adaptorTimer);
      loadAdaptor();
    });
  }

  function isInstalled(name, version) {
    const entry = config.catalogue.adaptors.find((adaptor) => adaptor.name === name);
    const versions = entry ? entry.versions : [];
    return ["latest", "next", ""].includes(version) ? versions.length > 0 : versions.includes(version);
  }

  async function loadAdaptor() {
    const name = fields.adaptor.value.trim();
    const version = fields.version.value.trim() || "latest";
    const key = `${name}@${version}`;
    if (!name || key === state.docsFor) return;
    state.docsFor = key;
    if (!isInstalled(name, version)) {
      // Docs and types come from the installed package: asking for them would only get a 404.
      state.operations = [];
      const what = version === "latest" ? `No version of ${name} is installed yet` : `${key} is not installed yet`;
      renderDocs(null, `${what}: install it to see its documentation (a run of a job that uses it installs it too).`, { name, version });
      if (state.monaco) javascriptDefaults(state.monaco).setExtraLibs([]);
      studio.dataset.adaptorLoaded = "";
      return;
    }
    const query = `?adaptor=${encodeURIComponent(name)}&version=${encodeURIComponent(version)}`;
    const [docs, types] = await Promise.all([send(config.urls.docs + query), send(config.urls.types + query)]);
    if (state.docsFor !== key) return; // the adaptor changed again meanwhile
    if (!docs.ok) {
      state.operations = [];
      renderDocs(null, docs.data.error, { name, version });
    } else {
      state.operations = docs.data.operations;
      renderDocs(docs.data);
    }
    if (state.monaco) {
      javascriptDefaults(state.monaco).setExtraLibs(types.ok ? types.data.libs.map((lib) => ({ content: lib.content, filePath: lib.path })) : []);
    }
    studio.dataset.adaptorLoaded = types.ok ? `${types.data.adaptor}@${types.data.version}` : "";
  }

  function renderDocs(docs, error, wanted) {
    const list = $("docs-list");
    list.replaceChildren();
    if (!docs) {
      $("docs-adaptor").textContent = error;
      list.append(
        el("button", { type: "button", class: "btn btn-sm btn-outline-primary", onclick: () => installFromDocs(wanted) },
          el("i", { class: "bi bi-download", "aria-hidden": "true" }), ` Install ${wanted.name}@${wanted.version}`),
      );
      return;
    }
    $("docs-adaptor").textContent = `${docs.adaptor}@${docs.version}: ${docs.operations.length} operations. Click an example to copy it.`;
    if (!docs.operations.length) list.append(el("p", { class: "text-body-secondary" }, "This version ships no documentation (no ast.json)."));
    for (const operation of docs.operations) {
      const params = operation.params.map((param) => param.name).join(", ");
      const article = el("article", { class: "mb-3", "data-operation": operation.name },
        el("h3", { class: "h6 font-monospace mb-1" }, `${operation.name}(${params})`,
          operation.origin !== docs.adaptor ? el("span", { class: "badge text-bg-light border ms-2 fw-normal" }, "from language-common") : null),
        el("p", { class: "small mb-1" }, operation.description),
      );
      if (operation.params.length) {
        article.append(el("table", { class: "table table-sm small mb-1" },
          el("tbody", {}, ...operation.params.map((param) => el("tr", {},
            el("th", { class: "font-monospace fw-normal", scope: "row" }, param.name + (param.optional ? "?" : "")),
            el("td", { class: "font-monospace text-body-secondary" }, param.type),
            el("td", {}, param.description))))));
      }
      for (const example of operation.examples) {
        article.append(el("button", {
          type: "button",
          class: "kindling-example",
          "aria-label": `Copy example of ${operation.name}${example.caption ? `: ${example.caption}` : ""}`,
          onclick: () => copy(example.code, `the example of ${operation.name}`),
        },
        example.caption ? el("span", { class: "small text-body-secondary d-block" }, example.caption) : null,
        el("pre", {}, el("code", {}, example.code))));
      }
      list.append(article);
    }
    filterDocs();
  }

  function filterDocs() {
    const text = $("docs-filter").value.trim().toLowerCase();
    document.querySelectorAll("#docs-list article").forEach((article) => {
      article.hidden = Boolean(text) && !article.dataset.operation.toLowerCase().includes(text);
    });
  }
  $("docs-filter").addEventListener("input", filterDocs);

  // Installing another version from npm -----------------------------------------------------------

  function installFromDocs(wanted) {
    $("install-adaptor").value = wanted.name;
    $("install-version").value = wanted.version;
    $("adaptor-install").open = true;
    if (window.bootstrap) window.bootstrap.Offcanvas.getOrCreateInstance($("studio-docs")).hide();
    if (studio.dataset.mode === "wizard") openStep(3);
    startInstall();
  }

  $("adaptor-install").addEventListener("toggle", () => {
    if ($("adaptor-install").open && !$("install-adaptor").value) $("install-adaptor").value = fields.adaptor.value.trim();
  });
  $("install-start").addEventListener("click", startInstall);

  async function startInstall() {
    const adaptor = $("install-adaptor").value.trim();
    const version = $("install-version").value.trim() || "latest";
    $("install-error").hidden = true;
    const started = await send(config.urls.install, { method: "POST", json: { adaptor, version } });
    if (!started.ok) {
      showInstallError(started.data);
      return;
    }
    $("install-start").disabled = true;
    followInstall(started.data);
  }

  function showInstallError(data) {
    const box = $("install-error");
    box.replaceChildren(el("strong", {}, data.error || "The install failed."));
    if (data.details && data.details.length) box.append(el("ul", { class: "mb-0 mt-1 font-monospace" }, ...data.details.map((line) => el("li", {}, line))));
    box.hidden = false;
  }

  async function followInstall(install) {
    const progress = $("install-progress");
    progress.hidden = false;
    $("install-spinner").hidden = install.status !== "running";
    $("install-headline").textContent =
      install.status === "running" ? `Installing ${install.adaptor}@${install.version}…`
        : install.status === "done" ? `Installed ${install.adaptor}@${install.installed_version}`
          : `Could not install ${install.adaptor}@${install.version}`;
    $("install-notes").replaceChildren(...install.notes.map((note) => el("li", { class: note.level === "error" ? "text-danger" : "" }, note.message)));
    if (install.status === "running") {
      setTimeout(async () => {
        const next = await send(install.url);
        if (next.ok) followInstall(next.data);
        else showInstallError(next.data);
      }, 700);
      return;
    }
    $("install-start").disabled = false;
    if (install.status === "failed") {
      showInstallError(install);
      return;
    }
    const catalogue = await send(config.urls.catalogue);
    if (catalogue.ok) config.catalogue = catalogue.data;
    fields.adaptor.value = install.adaptor;
    fields.version.value = install.installed_version;
    markDirty();
    renderCatalogue();
    summarize();
    state.docsFor = null;
    loadAdaptor();
    toast(`Installed ${install.adaptor}@${install.installed_version}: the job now uses it (save to keep it).`);
  }

  // Messages, the initial-state inspector ---------------------------------------------------------

  const messageSelects = [...document.querySelectorAll(".kindling-message-select")];

  function setMessages(messages, note) {
    for (const select of messageSelects) {
      select.replaceChildren(...messages.map((message) => el("option", { value: message.id }, message.label)));
    }
    const runButton = $("studio-save-and-run");
    runButton.disabled = !messages.length;
    $("run-note").textContent = note || (messages.length
      ? "Saves the job, runs it on the chosen message and shows its log as it comes."
      : "No message of the last 30 days matches this job's trigger yet.");
    $("inspector-note").textContent = note || (messages.length ? "" : "No message of the last 30 days matches this trigger.");
    stateLoadedFor = null;
    if (inspectorOpen()) loadState();
    else $("inspector-tree").replaceChildren();
  }

  fields.trigger.addEventListener("change", async () => {
    summarize();
    const id = fields.trigger.value;
    if (!id) {
      setMessages([], "Save and Run works for message-triggered jobs: choose a message filter trigger.");
      return;
    }
    const answer = await send(config.urls.triggerMessages.replace(/\/0\/messages$/, `/${id}/messages`));
    setMessages(answer.ok ? answer.data.messages : [], answer.ok ? answer.data.note : answer.data.error);
  });
  for (const select of messageSelects) {
    select.addEventListener("change", () => {
      for (const other of messageSelects) other.value = select.value;
      if (inspectorOpen()) loadState();
    });
  }

  let stateLoadedFor = null;

  function triggerKind() {
    return config.triggerKinds[fields.trigger.value] || null;
  }

  async function loadState() {
    const kind = triggerKind();
    // Cron, flow and catch jobs: the state their next run would get, not a message's.
    const byTrigger = kind !== null && kind !== "message";
    $("inspector-message-field").hidden = byTrigger;
    const key = byTrigger ? `trigger ${fields.trigger.value}` : messageSelects[0].value;
    if (!key || key === stateLoadedFor) return;
    stateLoadedFor = key;
    const url = byTrigger
      ? `${config.urls.triggerState.replace(/\/0\/state$/, `/${fields.trigger.value}/state`)}?job=${config.job || ""}`
      : config.urls.messageState.replace(/\/0\/state$/, `/${key}/state`);
    const answer = await send(url);
    const tree = $("inspector-tree");
    if (!answer.ok) {
      tree.replaceChildren(el("p", { class: "text-danger" }, answer.data.error));
      return;
    }
    if (byTrigger) $("inspector-note").textContent = answer.data.note;
    tree.replaceChildren(el("ul", {}, renderNode("state", answer.data.state, "state", 0)));
  }

  const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
  const MAX_CHILDREN = 200;
  const OPEN_DEPTH = 6; // deeper nodes start folded

  function childPath(path, key, inArray) {
    if (inArray) return `${path}[${key}]`;
    return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
  }

  function copyButton(path) {
    return el("button", {
      type: "button",
      class: "kindling-copy-path",
      "data-path": path,
      "aria-label": `Copy path ${path}`,
      title: `Copy ${path}`,
      onclick: (event) => {
        event.preventDefault(); // inside a <summary>: copy, do not fold
        event.stopPropagation();
        copy(path, path);
      },
    }, el("i", { class: "bi bi-clipboard", "aria-hidden": "true" }));
  }

  function renderNode(key, value, path, depth) {
    const label = el("span", { class: "kindling-key" }, key);
    if (value !== null && typeof value === "object") {
      const isArray = Array.isArray(value);
      const entries = isArray ? value.map((item, i) => [String(i), item]) : Object.entries(value);
      const children = entries.slice(0, MAX_CHILDREN).map(([k, v]) => renderNode(k, v, childPath(path, k, isArray), depth + 1));
      if (entries.length > MAX_CHILDREN) children.push(el("li", { class: "text-body-secondary" }, `… ${entries.length - MAX_CHILDREN} more`));
      const details = el("details", depth < OPEN_DEPTH ? { open: "" } : {},
        el("summary", { class: "kindling-node" }, label, el("span", { class: "text-body-secondary" }, isArray ? ` [${entries.length}]` : ` {${entries.length}}`), copyButton(path)),
        el("ul", {}, ...children));
      return el("li", {}, details);
    }
    return el("li", { class: "kindling-node" }, label, ": ", el("span", { class: "kindling-value" }, JSON.stringify(value)), copyButton(path));
  }

  // The splitter: drag it left (or use the arrow keys) to open the inspector.
  const splitter = $("studio-splitter");
  const inspector = $("studio-inspector");
  const split = $("studio-split");

  function inspectorOpen() {
    return !inspector.hidden;
  }

  function setInspectorWidth(percent) {
    const clamped = Math.max(0, Math.min(70, Math.round(percent)));
    inspector.hidden = clamped < 5;
    inspector.style.width = inspector.hidden ? "0" : `${clamped}%`;
    splitter.setAttribute("aria-valuenow", String(inspector.hidden ? 0 : clamped));
    state.editor?.layout();
    if (!inspector.hidden) loadState();
  }

  splitter.addEventListener("pointerdown", (event) => {
    splitter.setPointerCapture(event.pointerId);
    const move = (e) => {
      const box = split.getBoundingClientRect();
      setInspectorWidth(((box.right - e.clientX) / box.width) * 100);
    };
    const up = () => {
      splitter.removeEventListener("pointermove", move);
      splitter.removeEventListener("pointerup", up);
    };
    splitter.addEventListener("pointermove", move);
    splitter.addEventListener("pointerup", up);
  });
  splitter.addEventListener("keydown", (event) => {
    const now = Number(splitter.getAttribute("aria-valuenow"));
    if (event.key === "ArrowLeft") setInspectorWidth(Math.max(now, 25) + (now ? 10 : 0));
    else if (event.key === "ArrowRight") setInspectorWidth(now - 10);
    else if (event.key === "Enter" || event.key === " ") setInspectorWidth(now ? 0 : 40);
    else return;
    event.preventDefault();
  });

  // Save and Run ----------------------------------------------------------------------------------

  function logLine(line) {
    const item = el("li", { class: `level-${line.level}`, "data-seq": line.seq },
      el("span", { class: "kindling-log-source" }, line.source),
      el("span", { class: "kindling-log-text" }, line.message));
    const box = $("run-log");
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 30;
    box.append(item);
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  function runStatus(status) {
    const badge = $("run-status");
    badge.hidden = false;
    badge.textContent = status;
    badge.className = `badge ${status === "success" ? "text-bg-success" : status === "running" || status === "pending" ? "text-bg-info" : "text-bg-danger"}`;
    studio.dataset.runStatus = status;
  }

  // One token per click: requests that repeat it (a double click that got through, a retry) get the
  // run the first one started instead of a second run. A new click gets a new token.
  function newRunToken() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }
  let runToken = newRunToken();

  $("studio-save-and-run").addEventListener("click", async () => {
    const button = $("studio-save-and-run");
    button.disabled = true;
    showError("");
    if (!(await expressionCompiles())) {
      button.disabled = false;
      return;
    }
    state.stream?.close();
    $("run-log").replaceChildren();
    $("run-final-state").textContent = "—";
    $("run-link").hidden = true;
    const body = new FormData(form);
    body.set("request_token", runToken);
    let answer;
    try {
      answer = await send(config.urls.saveAndRun, { method: "POST", body });
    } catch (e) {
      // Not sent, or no answer: the same token again on the next click, in case it did start a run.
      showError("Could not reach the server: try again.");
      button.disabled = false;
      return;
    }
    runToken = newRunToken();
    if (answer.data.job && config.isNew) becomeExisting(answer.data);
    if (answer.status !== 201) {
      showError(answer.data.error);
      const field = answer.data.field && form.querySelector(`[name="${answer.data.field}"]`);
      if (field) field.classList.add("is-invalid");
      button.disabled = false;
      return;
    }
    markSaved();
    $("run-link").href = answer.data.run_url;
    $("run-link").textContent = `Run ${answer.data.run}`;
    $("run-link").hidden = false;
    runStatus("pending");
    follow(answer.data.events_url, button);
  });

  function becomeExisting(saved) {
    // The job exists now: later saves update it instead of creating another.
    config.isNew = false;
    config.job = saved.job;
    config.urls.save = saved.edit_url;
    config.urls.saveAndRun = saved.save_and_run_url;
    $("studio-done").href = saved.detail_url;
    $("studio-done").hidden = false;
    history.replaceState(null, "", saved.edit_url);
    $("studio-title").textContent = `Edit ${saved.name}`;
  }

  function follow(url, button) {
    const stream = new EventSource(url);
    state.stream = stream;
    stream.addEventListener("status", (event) => runStatus(JSON.parse(event.data).status));
    stream.addEventListener("log", (event) => logLine(JSON.parse(event.data)));
    stream.addEventListener("end", (event) => {
      stream.close();
      const end = JSON.parse(event.data);
      if (end.status) runStatus(end.status);
      $("run-final-state").textContent = end.final_state == null ? "(no final state)" : JSON.stringify(end.final_state, null, 2);
      $("run-note").textContent = end.error || `The run ended: ${end.status}, exit code ${end.exit_code}.`;
      button.disabled = false;
    });
    stream.addEventListener("timeout", (event) => {
      stream.close();
      $("run-note").textContent = JSON.parse(event.data).error;
      button.disabled = false;
    });
    stream.addEventListener("error", () => {
      // EventSource reconnects by itself (resuming after the last line); closed means it gave up.
      if (stream.readyState === EventSource.CLOSED) {
        $("run-note").textContent = "Lost the connection to the run's log: its page has the whole log.";
        button.disabled = false;
      }
    });
  }

  // Start -----------------------------------------------------------------------------------------

  renderCatalogue();
  summarize();
  if (config.messages.length === 0 && !fields.trigger.value) {
    $("inspector-note").textContent = "The inspector shows the initial state of a message that the job's trigger matches.";
  }
  for (const select of messageSelects) {
    if (select.id !== "run-message") select.replaceChildren(...config.messages.map((m) => el("option", { value: m.id }, m.label)));
  }
  if (config.step > 1) openStep(config.step);
  loadMonaco();
})();
