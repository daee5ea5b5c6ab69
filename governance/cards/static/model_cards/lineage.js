// The lineage graph: Cytoscape over the JSON the page embeds; clicking a node traces from it.
(function () {
  "use strict";
  var holder = document.getElementById("lineage-graph");
  var source = document.getElementById("lineage-data");
  if (!holder || !source || typeof cytoscape === "undefined") { return; }
  var graph = JSON.parse(source.textContent);
  var elements = graph.nodes.map(function (node) {
    return { data: { id: node.id, label: node.label, type: node.type, url: node.url, start: node.id === graph.start } };
  }).concat(graph.edges.map(function (edge, index) {
    return { data: { id: "e" + index, source: edge.source, target: edge.target, label: edge.type } };
  }));
  var cy = cytoscape({
    container: holder,
    elements: elements,
    layout: { name: "breadthfirst", directed: true, spacingFactor: 1.1 },
    style: [
      { selector: "node", style: { "label": "data(label)", "font-size": 10, "text-wrap": "wrap", "text-max-width": 140,
                                   "background-color": "#0d6efd", "color": "#212529" } },
      { selector: "node[type = 'ModelCard']", style: { "background-color": "#198754", "shape": "round-rectangle" } },
      { selector: "node[?start]", style: { "border-width": 3, "border-color": "#dc3545" } },
      { selector: "edge", style: { "curve-style": "bezier", "target-arrow-shape": "triangle", "width": 1.5,
                                   "label": "data(label)", "font-size": 8, "line-color": "#6c757d",
                                   "target-arrow-color": "#6c757d" } }
    ]
  });
  holder.setAttribute("data-ready", "true");
  cy.on("tap", "node", function (event) {
    var data = event.target.data();
    if (data.url) { window.location.href = data.url; return; }
    var params = new URLSearchParams(window.location.search);
    params.set("arn", data.id);
    window.location.search = params.toString();
  });
})();
