// Playback position of section players (.player[data-start][data-duration][data-song]).
// While a section plays, its playhead moves along the song bar under the player, and — when a
// timeline of the same song is on the page (Songs page, layout.meta.song_id) — along that
// timeline too, so a listener sees where the section sits in its song. Media events do not
// bubble: one capture-phase listener serves every player the app renders.
(function () {
  function timelineOf(song) {
    var plots = document.querySelectorAll(".js-plotly-plot");
    for (var i = 0; i < plots.length; i++) {
      var meta = plots[i].layout && plots[i].layout.meta;
      if (meta && meta.song_id === song) return plots[i];
    }
    return null;
  }

  function moveTimelinePlayhead(gd, t, show) {
    if (!window.Plotly || !gd.layout) return;
    var shapes = (gd.layout.shapes || []).filter(function (s) { return s.name !== "playhead"; });
    if (show) {
      shapes.push({type: "line", name: "playhead", xref: "x", yref: "paper", x0: t, x1: t, y0: 0, y1: 1,
                   line: {color: "#111827", width: 2}});
    }
    window.Plotly.relayout(gd, {shapes: shapes});
  }

  function update(audio) {
    var player = audio.closest ? audio.closest(".player") : null;
    if (!player) return;
    var start = parseFloat(player.getAttribute("data-start")) || 0;
    var duration = parseFloat(player.getAttribute("data-duration")) || 0;
    var t = start + (audio.currentTime || 0);
    var head = player.querySelector(".songbar-playhead");
    if (head && duration > 0) head.style.left = Math.min(100, (100 * t) / duration).toFixed(3) + "%";
    player.classList.toggle("playing", !audio.paused);
    var gd = timelineOf(player.getAttribute("data-song"));
    if (gd) moveTimelinePlayhead(gd, t, !audio.paused || audio.currentTime > 0);
  }

  ["timeupdate", "play", "pause", "seeked", "ended"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      if (e.target && e.target.tagName === "AUDIO") update(e.target);
    }, true);
  });
  // only one section plays at a time
  document.addEventListener("play", function (e) {
    if (!e.target || e.target.tagName !== "AUDIO") return;
    document.querySelectorAll("audio").forEach(function (a) { if (a !== e.target) a.pause(); });
  }, true);
})();
