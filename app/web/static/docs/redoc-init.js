// ReDoc at /redoc over this server's own OpenAPI document (app/api/docs.py). A file, not an
// inline script: the page's Content-Security-Policy runs scripts from this site only.
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var root = document.getElementById("redoc");
  Redoc.init(root.getAttribute("data-openapi-url"), { hideDownloadButton: false }, root);
});
