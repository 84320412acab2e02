// The "Correct this structure" panel (sectionist/dashboard/ui/components/corrections.py) of the Songs
// page and of the Lab: a click on the lanes (the Songs page's timeline; the Lab's lanes of the chosen
// structure's versions) gives the time under the pointer (Plotly's click data gives the clicked block,
// not where in it), and the lane clicked; both go to the panel's store (ids.SONGS_CORRECT_CLICK,
// ids.LAB_CORRECT_CLICK), whose server callback says what is picked. Only while the panel is on the
// page and shown (an expert; on the Songs page the Lanes view of one song). A file, not an inline
// script (docs/security.md).
(function () {
  'use strict';
  // graph clicked, panel, store the click goes to (ui/ids.py)
  var PANELS = [{graph: 'songs-timeline', panel: 'songs-correct', store: 'songs-correct-click', previous: null},
                {graph: 'lab-correct-lanes', panel: 'lab-correct', store: 'lab-correct-click', previous: null}];

  function clickedTime(gd, ev) {
    var xa = gd._fullLayout && gd._fullLayout.xaxis;
    var e = ev && ev.event;
    if (!xa || !e || typeof xa.p2d !== 'function') { return null; }
    var box = gd.getBoundingClientRect();
    var t = xa.p2d(e.clientX - box.left - xa._offset);
    var range = xa.range || [0, t];
    return Math.min(Math.max(t, Math.min(range[0], range[1])), Math.max(range[0], range[1]));
  }

  function watch(gd, p) {
    if (gd._sectionistCorrect || typeof gd.on !== 'function') { return; }
    gd._sectionistCorrect = true;
    gd.on('plotly_click', function (ev) {
      var panel = document.getElementById(p.panel);
      if (!panel || panel.hidden || !window.dash_clientside || !window.dash_clientside.set_props) { return; }
      var t = clickedTime(gd, ev);
      if (t === null || !isFinite(t)) { return; }
      var pt = ev.points && ev.points[0];
      var lane = pt && pt.data && pt.data.meta ? pt.data.meta[0] : null;
      // the previous click travels along: when this click comes before the server's answer to that
      // one, Dash drops that answer, and the server adds the previous click back from here
      var click = {time: t, n: Date.now()};
      window.dash_clientside.set_props(p.store, {data: {time: t, lane: lane, n: click.n,
                                                         recent: p.previous ? [p.previous] : []}});
      p.previous = click;
    });
  }

  // The picked times as dashed lines across the timeline (a clientside callback on the panel's
  // picks, ui/components/corrections.py), so the expert sees where each click landed.
  window.dash_clientside = Object.assign({}, window.dash_clientside);
  function plot(id) {
    var root = document.getElementById(id);
    return root && (root.classList.contains('js-plotly-plot') ? root : root.querySelector('.js-plotly-plot'));
  }

  function markOn(graph, picks) {
    var gd = plot(graph);
    if (!gd || !gd.layout || !window.Plotly) { return; }
    var shapes = (gd.layout.shapes || []).filter(function (s) { return s.name !== 'correct-pick'; });
    ((picks && picks.times) || []).forEach(function (t) {
      shapes.push({type: 'line', name: 'correct-pick', xref: 'x', yref: 'paper', x0: t, x1: t, y0: 0, y1: 1,
                   line: {color: '#b91c1c', width: 2, dash: 'dash'}});
    });
    window.Plotly.relayout(gd, {shapes: shapes});
  }

  window.dash_clientside.sectionist_corrections = {
    mark: function (picks) { markOn(PANELS[0].graph, picks); },
    markLab: function (picks) { markOn(PANELS[1].graph, picks); }
  };

  window.setInterval(function () {
    PANELS.forEach(function (p) {
      var gd = plot(p.graph);
      if (gd) { watch(gd, p); }
    });
  }, 300);
})();
