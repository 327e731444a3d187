// Started from a file, not inline, so the page keeps a CSP without 'unsafe-inline'.
window.ui = SwaggerUIBundle({ url: "/api/openapi.json", dom_id: "#swagger-ui" });
