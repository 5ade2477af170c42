// Draws every Plotly figure on the page. A page renders a figure dict with
//   {{ fig|json_script:"fig-minutes" }}  <div class="chart" data-figure="fig-minutes"></div>
// and this script turns each such <div> into a chart (again after an htmx swap).
(function () {
  function draw(root) {
    root.querySelectorAll("[data-figure]").forEach(function (target) {
      var node = document.getElementById(target.dataset.figure);
      if (!node) return;
      var fig = JSON.parse(node.textContent);
      var config = Object.assign({ displaylogo: false, responsive: true }, fig.config || {});
      Plotly.react(target, fig.data || [], fig.layout || {}, config);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSettle", function (evt) { draw(evt.target); });
})();
