// Drawing one series on the graph's canvas, reduced per pixel column so that the work per
// frame is bounded by the plot's width, not by the number of points.

/**
 * Draws series `s` (`{ts, vs, color}`) on `ctx` reduced to one column per pixel: for each
 * column the first, min, max and last values (only as many as it has points), lines broken
 * at gaps longer than 1.5 steps and at NaN / ±Inf (and at values <= 0 on a log scale), a
 * small square for a point with no neighbour. `view` gives `start`, `end`, `step`, `log`
 * and the pixel mappings `x(t)` and `y(v)`. Returns the number of points used.
 */
export function drawSeries(ctx, s, view) {
  const gap = (view.step || 0) * 1.5 || Infinity;
  const lo = view.start - (view.step || 0);
  const hi = view.end + (view.step || 0);
  ctx.strokeStyle = s.color;
  ctx.fillStyle = s.color;
  ctx.lineWidth = 1;
  // Miter joins on the up-and-down column strokes made a 300 series × 1800 points redraw
  // take 4.9 s to paint in headless Chromium (software raster); bevel: 0.7 s (e2e test).
  ctx.lineJoin = 'bevel';
  ctx.beginPath();
  let col = NaN;
  let first = 0;
  let last = 0;
  let min = 0;
  let max = 0;
  let inCol = 0; // points in the current column
  let penDown = false;
  let run = 0; // points in the current unbroken segment
  let prevT = -Infinity;
  let used = 0;
  const dots = []; // lone points: no neighbour to draw a line to
  const flush = () => {
    if (Number.isNaN(col)) return;
    const px = col + 0.5;
    if (penDown) ctx.lineTo(px, view.y(first));
    else ctx.moveTo(px, view.y(first));
    // Two points are their own min and max; only busier columns need the extremes.
    if (inCol > 2 && min !== max) {
      ctx.lineTo(px, view.y(min));
      ctx.lineTo(px, view.y(max));
    }
    if (inCol > 1) ctx.lineTo(px, view.y(last));
    penDown = true;
    col = NaN;
  };
  const breakLine = () => {
    const lone = run === 1 && !Number.isNaN(col);
    const px = col + 0.5;
    const py = lone ? view.y(first) : 0;
    flush();
    if (lone) dots.push(px, py);
    penDown = false;
    run = 0;
  };
  for (let i = 0; i < s.ts.length; i++) {
    const t = s.ts[i];
    if (t < lo || t > hi) continue;
    const v = s.vs[i];
    if (!Number.isFinite(v) || (view.log && v <= 0)) {
      breakLine();
      continue;
    }
    if (t - prevT > gap) breakLine();
    prevT = t;
    used++;
    run++;
    const c = Math.floor(view.x(t));
    if (c !== col) {
      flush();
      col = c;
      first = min = max = last = v;
      inCol = 1;
    } else {
      inCol++;
      if (v < min) min = v;
      if (v > max) max = v;
      last = v;
    }
  }
  breakLine();
  ctx.stroke();
  for (let i = 0; i < dots.length; i += 2) ctx.fillRect(dots[i] - 1.5, dots[i + 1] - 1.5, 3, 3);
  return used;
}
