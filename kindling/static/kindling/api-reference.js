// The API reference at /api/v1/docs: Swagger UI, served from Kindling's own static files, reading the
// settings the page passes as a json_script block (no inline script under the Content-Security-Policy).
(function () {
  const settings = JSON.parse(document.getElementById("api-reference-settings").textContent);
  window.SwaggerUIBundle({
    url: settings.url,
    dom_id: "#api-reference",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [window.SwaggerUIBundle.presets.apis],
    // "Try it out" sends the token given under Authorize; the portal's session is not an API login.
    persistAuthorization: false,
  });
})();
