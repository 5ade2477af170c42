// The weekly summary's "Print or save as PDF" button (no inline scripts: the CSP allows only files).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { window.print(); }
});
