"""Writes the map outlines embedded in the HTML report (crates/tokengrid-report/src/outlines.txt)
from Natural Earth's 1:50m admin-0 country boundaries, as redistributed in TopoJSON by the npm
package world-atlas 2.0.2 (countries-50m.json; Natural Earth is public domain).

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python3 tools/outlines.py package/countries-50m.json > crates/tokengrid-report/src/outlines.txt

Every arc of the topology (a coastline or a border, each once) with a point inside East and
Central Asia (lon 60..150, lat -12..58), thinned to points at least 0.25 degrees apart (arcs
spanning under 0.5 degrees, small islands, left out),
clipped to that window with 5 degrees of margin, rounded to 0.01 degrees: one line per
stretch, "lon,lat lon,lat ...".
"""

import json
import sys

LON, LAT = (60.0, 150.0), (-12.0, 58.0)
MIN_STEP = 0.25
# Arcs (small islands) spanning less than this are left out, degrees.
MIN_SPAN = 0.5


def main():
    topo = json.load(open(sys.argv[1]))
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    print("# Natural Earth 1:50m admin-0 boundaries (public domain) via world-atlas 2.0.2;")
    print("# written by tools/outlines.py: one coastline or border per line, lon,lat in degrees.")
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        if not any(LON[0] <= p[0] <= LON[1] and LAT[0] <= p[1] <= LAT[1] for p in pts):
            continue
        kept = [pts[0]]
        for p in pts[1:-1]:
            if abs(p[0] - kept[-1][0]) + abs(p[1] - kept[-1][1]) >= MIN_STEP:
                kept.append(p)
        kept.append(pts[-1])
        span = max(max(p[0] for p in pts) - min(p[0] for p in pts), max(p[1] for p in pts) - min(p[1] for p in pts))
        if span < MIN_SPAN:
            continue
        # Only the stretches inside the window (with a margin) are kept.
        run = []
        for pt in kept + [(None, None)]:
            lon, lat = pt
            if lon is not None and LON[0] - 5 <= lon <= LON[1] + 5 and LAT[0] - 5 <= lat <= LAT[1] + 5:
                run.append((lon, lat))
                continue
            if len(run) > 1:
                print(" ".join(f"{round(x, 2):g},{round(y, 2):g}" for x, y in run))
            run = []


if __name__ == "__main__":
    main()
