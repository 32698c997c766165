// API docs page (/api/v1/docs): Swagger UI from the vendored bundle, no inline script, so the
// page runs under the same Content-Security-Policy as every other page.
window.SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  // No badge from swagger.io's online validator: the page must work without the internet
  // (Swagger UI calls it for any spec not served from localhost).
  validatorUrl: null,
  // Requests made from the page carry the session cookie; unsafe ones need the CSRF token.
  requestInterceptor: (req) => {
    const m = document.cookie.match(/(?:^|; )qs_csrf=([^;]*)/);
    if (m) req.headers["X-CSRF-Token"] = decodeURIComponent(m[1]);
    return req;
  },
});
