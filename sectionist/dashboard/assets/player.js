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
  // A panel redrawn around the section that is playing (another space, run or colouring on the Map:
  // the detail panel is rebuilt with a new player for the same section) keeps playing from where it
  // was. The old element leaves the page paused, without a pause event reaching the document, so
  // the last state heard here is still "playing".
  var last = {el: null, src: null, time: 0, playing: false};
  ["timeupdate", "play", "pause", "ended"].forEach(function (name) {
    document.addEventListener(name, function (e) {
      var a = e.target;
      if (!a || a.tagName !== "AUDIO") return;
      last = {el: a, src: a.getAttribute("src"), time: a.currentTime || 0, playing: !a.paused && !a.ended};
    }, true);
  });
  function resume(root) {
    if (!last.playing || !last.el || last.el.isConnected) return;
    var found = root.tagName === "AUDIO" ? [root] : root.querySelectorAll ? root.querySelectorAll("audio") : [];
    for (var i = 0; i < found.length; i++) {
      if (found[i].getAttribute("src") === last.src) {
        var a = found[i], t = last.time;
        last = {el: a, src: last.src, time: t, playing: true};
        var seek = function () { try { a.currentTime = t; } catch (err) { /* not seekable yet */ } };
        if (a.readyState >= 1) seek(); else a.addEventListener("loadedmetadata", seek, {once: true});
        var p = a.play();
        if (p && p.catch) p.catch(function () { /* the browser refused: the player stays paused */ });
        return;
      }
    }
  }
  new MutationObserver(function (records) {
    records.forEach(function (r) { r.addedNodes.forEach(function (n) { if (n.nodeType === 1) resume(n); }); });
  }).observe(document.documentElement, {childList: true, subtree: true});

  // only one section plays at a time
  document.addEventListener("play", function (e) {
    if (!e.target || e.target.tagName !== "AUDIO") return;
    document.querySelectorAll("audio").forEach(function (a) { if (a !== e.target) a.pause(); });
  }, true);
})();
