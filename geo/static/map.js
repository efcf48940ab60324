/* The planners' map page (geo/templates/map.html.j2): decodes the page data (a TopoJSON
   topology with the units' figures, see geo/maps.py) and draws it with Leaflet, offline.
   Every text from reports reaches the page through textContent only. */
(function () {
  "use strict";
  var T0 = performance.now();
  var DATA = JSON.parse(document.getElementById("dxlake-map-data").textContent);
  var META = DATA.meta;
  var IND = META.indicators;
  var COLOURS = META.colours;
  var CLASS_LABELS = {};
  META.classes.forEach(function (c, i) { CLASS_LABELS[c] = META.labels[i]; });
  var TYPES = {"xã": "commune", "phường": "ward", "đặc khu": "special zone"};
  var NO_DATA = META.classes.indexOf("no_data");
  var GAP_CLASSES = ["small", "medium", "large"].map(function (c) {
    return META.classes.indexOf(c);
  });
  var ALWAYS = ["meets_target", "small", "medium", "large", "not_reported"];
  var BEHIND = ["small", "medium", "large", "not_reported"].map(function (c) {
    return META.classes.indexOf(c);
  });
  // Dash the approximate boundaries only when the page mixes them with official ones.
  var MIXED = Boolean(META.geometry.sources.approximate) &&
    Object.keys(META.geometry.sources).length > 1;
  var OVERVIEW = META.provinces.length > 1;

  // The Leaflet map folium created (geo.page.page_map), named in the page's script part.
  var map = window[window.dxlakeMapName];
  map.getContainer().setAttribute("role", "main");
  map.getContainer().setAttribute("aria-label", "Bản đồ / map");
  map.attributionControl.setPrefix("Leaflet · Natural Earth");

  function el(tag, cls, text, parent) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function bi(parent, vi, en) {  // "Vietnamese / English", English greyed
    el("span", null, vi, parent);
    el("span", "dx-en", " / " + en, parent);
    return parent;
  }
  function fold(s) {
    return String(s).normalize("NFD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[đĐ]/g, "d").toLowerCase().replace(/[^0-9a-z]+/g, " ").trim();
  }
  var NUMBER = new Intl.NumberFormat("vi-VN", {maximumFractionDigits: 2});
  function fmt(x, signed) {
    if (x === null || x === undefined) { return "—"; }
    var s = NUMBER.format(x);
    return signed && x > 0 ? "+" + s : s;
  }
  function unitText(ind) { return ind.unit === "percent" ? "%" : ind.uvi + " / " + ind.uen; }
  function gapUnit(ind) { return ind.unit === "percent" ? "điểm % / pp" : ind.uvi; }

  // ---- decode the topology: each arc a string of zigzag varints, 5 bits a character (63..126),
  // x then y of each position, the first absolute, then deltas (geo.topology.encode_arcs).
  // Arcs stay numbers ([lat, lng, lat, lng, ...]); LatLng objects are made for the few that
  // need them (a highlight, an overlay), so a national page allocates little at load. ----
  var sc = DATA.transform.scale, tr = DATA.transform.translate;
  var arcBox = [];  // per arc: [south, west, north, east]
  var arcXY = DATA.arcs.map(function (text, k) {
    var out = [], x = 0, y = 0, v = 0, shift = 0, odd = false;
    var s = Infinity, w = Infinity, n = -Infinity, e = -Infinity;
    for (var i = 0; i < text.length; i++) {
      var b = text.charCodeAt(i) - 63;
      v |= (b & 31) << shift;
      shift += 5;
      if (b < 32) {
        var d = v & 1 ? ~(v >>> 1) : v >>> 1;
        if (odd) {
          y += d;
          var lat = y * sc[1] + tr[1], lng = x * sc[0] + tr[0];
          out.push(lat, lng);
          if (lat < s) { s = lat; } if (lat > n) { n = lat; }
          if (lng < w) { w = lng; } if (lng > e) { e = lng; }
        } else { x += d; }
        odd = !odd; v = 0; shift = 0;
      }
    }
    arcBox[k] = [s, w, n, e];
    return out;
  });
  var arcLL = [];
  function arcLatLngs(i) {
    var c = arcLL[i];
    if (!c) {
      var a = arcXY[i];
      c = arcLL[i] = new Array(a.length / 2);
      for (var k = 0; k < c.length; k++) { c[k] = L.latLng(a[2 * k], a[2 * k + 1]); }
    }
    return c;
  }
  function arcPts(i) { return i >= 0 ? arcLatLngs(i) : arcLatLngs(~i).slice().reverse(); }
  function line(refs) {
    var pts = [];
    for (var k = 0; k < refs.length; k++) {
      var a = arcPts(refs[k]);
      for (var i = k ? 1 : 0; i < a.length; i++) { pts.push(a[i]); }
    }
    return pts;
  }
  function ring(refs) { var pts = line(refs); pts.pop(); return pts; }
  function polygons(g) { return g.arcs.map(function (poly) { return poly.map(ring); }); }
  function boundsOf(nested) {  // LatLngBounds of a geometry's arcs, null when it has none
    var s = Infinity, w = Infinity, n = -Infinity, e = -Infinity;
    nested.forEach(function (poly) {
      poly.forEach(function (refs) {
        refs.forEach(function (r) {
          var b = arcBox[r >= 0 ? r : ~r];
          if (b[0] < s) { s = b[0]; } if (b[1] < w) { w = b[1]; }
          if (b[2] > n) { n = b[2]; } if (b[3] > e) { e = b[3]; }
        });
      });
    });
    return s <= n ? L.latLngBounds([s, w], [n, e]) : null;
  }
  var unitGeoms = DATA.objects.units.geometries;
  var features = unitGeoms.map(function (g, i) {
    var p = g.properties;
    var key = fold(p.n);
    var f = {i: i, properties: p, arcs: g.arcs, bounds: boundsOf(g.arcs), key: key,
             code: String(p.c), remote: Boolean((p.f & 7) || p.rc),
             short: key.replace(/^(xa|phuong|dac khu|thi tran) /, ""),
             css: "dx-u-" + String(p.c).replace(/[^A-Za-z0-9_-]/g, "_")};
    var latlngs = null;
    Object.defineProperty(f, "latlngs", {get: function () {
      return latlngs || (latlngs = polygons(g));
    }});
    return f;
  });
  var byCode = {};
  features.forEach(function (f) { byCode[f.code] = f; });
  var outlineLines = [];
  DATA.objects.provinces.geometries.forEach(function (g) {
    g.arcs.forEach(function (refs) { outlineLines.push(refs); });
  });
  var provinces = META.provinces.map(function (p, i) {
    return {i: i, code: String(p[0]), name: p[1], key: fold(p[1]), units: []};
  });
  features.forEach(function (f) {
    var prov = provinces[f.properties.p];
    if (prov) { prov.units.push(f); }
  });

  // ---- dead zones: their own arcs, each naming its unit by index ----
  var DZ = META.deadZones || null;
  var zoneFeatures = ((DATA.objects.deadZones || {}).geometries || []).map(function (g) {
    return {properties: g.properties, unit: features[g.properties.u], g: g};
  });
  zoneFeatures.forEach(function (z) {  // per unit: zones, people, area, for its tooltip
    var s = z.unit.zones || (z.unit.zones = {n: 0, q: 0, a: 0});
    s.n += 1; s.q += z.properties.q || 0; s.a += z.properties.a || 0;
  });

  // ---- reported 5G coverage the cell sites contradict: marked on that indicator's layer ----
  var CHECK = META.coverage || null;
  var CHECK_K = CHECK ? IND.map(function (ind) { return ind.id; }).indexOf(CHECK.indicator) : -1;
  var flagged = 0;
  if (CHECK) {
    CHECK.units.forEach(function (u) {
      var f = features[u[0]];
      f.check = {reported: u[1], computed: u[2], diff: u[3], tolerance: u[4]};
      if (f.arcs.length) { flagged += 1; }
    });
  }
  function isFlagged(f, k) { return k === CHECK_K && Boolean(f.check); }
  var ONE = {vi: new Intl.NumberFormat("vi-VN", {minimumFractionDigits: 1, maximumFractionDigits: 1}),
             en: new Intl.NumberFormat("en-GB", {minimumFractionDigits: 1, maximumFractionDigits: 1})};
  function checkText(c) {
    var d = Math.abs(c.diff);
    return "Báo cáo " + ONE.vi.format(c.reported) + " % · tính từ trạm " +
      ONE.vi.format(c.computed) + " % (lệch " + ONE.vi.format(d) + " điểm) / reported " +
      ONE.en.format(c.reported) + " % · computed from cell sites " + ONE.en.format(c.computed) +
      " % (" + ONE.en.format(d) + " points apart)";
  }

  function row(f, k) { return (f.properties.v && f.properties.v[k]) || null; }
  function classOf(f, k) { var r = row(f, k); return r ? r[3] : NO_DATA; }

  // ---- panes: base map below the units; overlays, outlines and labels above, none of them
  // taking the mouse: the units' tooltips are never hidden by an overlay ----
  [["dxBase", 300], ["dxDeadZones", 405], ["dxRemote", 410], ["dxProvinces", 420],
   ["dxLabels", 425], ["dxHighlight", 430]].forEach(function (p) {
    var pane = map.createPane(p[0]);
    pane.style.zIndex = p[1];
    pane.style.pointerEvents = "none";
  });

  // ---- tooltips: kept inside the map, above the pointer when they fit, else below, else
  // beside it ----
  L.Tooltip.include({
    _setPosition: function (pos) {
      var m = this._map, c = this._container, size = m.getSize(), pad = 6, gap = 14;
      var at = m.layerPointToContainerPoint(pos), w = c.offsetWidth, h = c.offsetHeight;
      var x = at.x - w / 2, y;
      if (at.y - gap - h >= pad) {
        y = at.y - gap - h;
      } else if (at.y + gap + h <= size.y - pad) {
        y = at.y + gap;
      } else {
        y = Math.min(Math.max(pad, at.y - h / 2), size.y - pad - h);
        x = at.x + gap + w <= size.x - pad ? at.x + gap : at.x - gap - w;
      }
      x = Math.max(pad, Math.min(x, size.x - pad - w));
      y = Math.max(pad, y);
      L.DomUtil.setPosition(c, m.containerPointToLayerPoint([x, y]).round());
    }
  });
  function tipRow(table, vi, en, value) {
    var tr_ = el("tr", null, null, table);
    bi(el("th", null, null, tr_), vi, en);
    el("td", null, value, tr_);
  }
  function tooltipFor(f, k) {
    var p = f.properties, ind = IND[k], r = row(f, k) || [];
    var box = el("div", "dx-tip");
    el("div", "dx-tip-title", p.n, box);
    var table = el("table", null, null, box);
    function addRow(vi, en, value) { tipRow(table, vi, en, value); }
    var prov = META.provinces[p.p] || ["", ""];
    addRow("Loại", "Type", p.t + " / " + (TYPES[p.t] || p.t));
    addRow("Tỉnh, thành phố", "Province", prov[1]);
    addRow("Chỉ tiêu", "Indicator", ind.vi + " / " + ind.en);
    var cls = META.classes[classOf(f, k)];
    var label = CLASS_LABELS[cls];
    var unit = unitText(ind);
    if (r[0] === undefined || r[0] === null) {
      addRow("Giá trị", "Value", label[0] + " / " + label[1]);
    } else {
      addRow("Giá trị", "Value", fmt(r[0]) + " " + unit);
    }
    addRow("Mục tiêu", "Target", fmt(r[1] !== undefined && r[1] !== null ? r[1] : ind.target) + " " + unit);
    addRow("Khoảng cách", "Gap", (r[2] === undefined ? "—" : fmt(r[2])) + " · " +
         label[0] + " / " + label[1]);
    var change = r[4];
    var prev = (change !== undefined && change !== null && r[0] !== null && r[0] !== undefined)
      ? " (kỳ trước / previous: " + fmt(Math.round((r[0] - change) * 100) / 100) + ")" : "";
    addRow("Thay đổi so với kỳ trước", "Change since previous period",
         change === undefined || change === null ? "—" : fmt(change, true) + prev);
    var flags = [];
    if (p.f & 1) { flags.push("Biên giới / border"); }
    if (p.f & 2) { flags.push("Hải đảo / island"); }
    if (p.rc) { flags.push("Phân loại / class: " + p.rc); }
    if ((p.f & 4) && !flags.length) { flags.push("Vùng sâu, vùng xa / remote"); }
    addRow("Vùng khó khăn", "Remote", flags.length ? flags.join(" · ") : "Không / no");
    var src = (r[5] !== undefined && r[5] !== null) ? META.sources[r[5]] : null;
    addRow("Nguồn", "Source", src ? src[0] + (src[1] ? " › " + src[1] : "") +
         (r[6] !== undefined && r[6] !== null ? ", dòng / row " + r[6] : "") : "—");
    if (isFlagged(f, k)) {
      addRow("⚠ Lệch số liệu trạm phát sóng", "⚠ disagrees with cell sites", checkText(f.check));
    }
    addRow("Ranh giới", "Boundary", ["chính thức / official", "xấp xỉ / approximate", "khác / other"][p.g] || "—");
    if (deadZones && map.hasLayer(deadZones)) {
      var z = f.zones;
      addRow("Vùng lõm sóng " + DZ.technology, DZ.technology + " dead zones",
             z ? fmt(z.n) + " vùng / zones · " + fmt(Math.round(z.q)) + " người / people · " +
                 fmt(Math.round(z.a * 100) / 100) + " km²"
               : "Không / none");
    }
    return box;
  }

  // ---- a unit's polygon, projected from its arcs: each shared arc is projected once per zoom
  // for both neighbours (Leaflet would project every vertex twice, an object each time) ----
  var MERC = L.Projection.SphericalMercator, RAD = Math.PI / 180;
  var TF = map.options.crs.transformation;
  var projected = {key: null, arcs: []};
  function projectArc(i, zoom, origin) {  // [points, minX, minY, maxX, maxY] in layer pixels
    var a = arcXY[i], scale = map.options.crs.scale(zoom), n = a.length / 2;
    var pts = new Array(n), x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (var k = 0; k < n; k++) {  // L.Map.latLngToLayerPoint, without its four objects
      var lat = Math.max(Math.min(MERC.MAX_LATITUDE, a[2 * k]), -MERC.MAX_LATITUDE);
      var sin = Math.sin(lat * RAD);
      var x = Math.round(scale * (TF._a * MERC.R * a[2 * k + 1] * RAD + TF._b)) - origin.x;
      var y = Math.round(scale * (TF._c * MERC.R * Math.log((1 + sin) / (1 - sin)) / 2 +
                                  TF._d)) - origin.y;
      pts[k] = new L.Point(x, y);
      if (x < x0) { x0 = x; } if (x > x1) { x1 = x; }
      if (y < y0) { y0 = y; } if (y > y1) { y1 = y; }
    }
    return [pts, x0, y0, x1, y1];
  }
  function projectLines(lines, closed, map_, result, pxBounds) {  // arc refs -> pixel rings
    var zoom = map_.getZoom(), origin = map_.getPixelOrigin();
    var key = zoom + ":" + origin.x + ":" + origin.y;
    if (projected.key !== key) { projected.key = key; projected.arcs = []; }
    var cache = projected.arcs;
    lines.forEach(function (refs) {
      var pts_ = [];
      for (var k = 0; k < refs.length; k++) {
        var r = refs[k], i = r >= 0 ? r : ~r;
        var pa = cache[i] || (cache[i] = projectArc(i, zoom, origin)), pts = pa[0];
        pxBounds.extend([pa[1], pa[2]]);
        pxBounds.extend([pa[3], pa[4]]);
        if (r >= 0) {
          for (var j = k ? 1 : 0; j < pts.length; j++) { pts_.push(pts[j]); }
        } else {
          for (var m = pts.length - (k ? 2 : 1); m >= 0; m--) { pts_.push(pts[m]); }
        }
      }
      if (closed) { pts_.pop(); }  // a ring's closing point
      result.push(pts_);
    });
  }
  // Leaflet paths drawn from arcs: `lines` lists the arc refs of each ring or line.
  var arcPath = {
    _project: function () {
      var pxBounds = new L.Bounds();
      this._rings = [];
      projectLines(this.lines, this instanceof L.Polygon, this._map, this._rings, pxBounds);
      if (this._bounds.isValid() && pxBounds.isValid()) {
        this._rawPxBounds = pxBounds;
        this._updateBounds();
      }
    },
    isEmpty: function () { return !this.lines.length; }
  };
  var UnitPolygon = L.Polygon.extend(arcPath).extend({
    initialize: function (f, options) {
      L.setOptions(this, options);
      this.feature = f;
      this.lines = [].concat.apply([], f.arcs);
      this._bounds = f.bounds;
      Object.defineProperty(this, "_latlngs", {get: function () { return f.latlngs; }});
    }
  });
  var ArcLines = L.Polyline.extend(arcPath).extend({
    initialize: function (lines, latlngs, options) {
      L.setOptions(this, options);
      this.lines = lines;
      this._bounds = boundsOf([lines]) || L.latLngBounds([]);
      Object.defineProperty(this, "_latlngs", {get: latlngs});
    }
  });

  // ---- one layer per indicator, built from the shared coordinates when first shown ----
  var FLAG_COLOUR = "#c51b7d";
  function styleFor(f, k) {
    var s = {fillColor: COLOURS[classOf(f, k)], fillOpacity: 1, color: "#ffffff",
             weight: 0.6, opacity: 0.9, smoothFactor: 1.5, className: "dx-u " + f.css};
    if (MIXED && f.properties.g === 1) { s.color = "#555"; s.dashArray = "2 3"; s.weight = 0.8; }
    if (isFlagged(f, k)) {  // the outline only: the fill stays the reported value's class
      s.color = FLAG_COLOUR; s.dashArray = "5 3"; s.weight = 2.5; s.opacity = 1;
      s.className += " dx-flag";
    }
    return s;
  }
  var tipOptions = {sticky: true, direction: "top", className: "dx-tooltip", opacity: 1};
  var IndicatorLayer = L.FeatureGroup.extend({
    initialize: function (k) {
      L.FeatureGroup.prototype.initialize.call(this);
      this.k = k;
      this.byCode = {};
      this.bindTooltip(function (layer) { return tooltipFor(layer.feature, k); }, tipOptions);
    },
    onAdd: function (m) {
      if (!this.built) {
        this.built = true;
        var k = this.k, self = this;
        // Marked units last: their outlines over their neighbours' white ones.
        var last = features.filter(function (f) { return isFlagged(f, k); });
        features.filter(function (f) { return !isFlagged(f, k); }).concat(last)
          .forEach(function (f) {
            if (!f.arcs.length) { return; }
            var poly = new UnitPolygon(f, styleFor(f, k));
            self.byCode[f.code] = poly;
            self.addLayer(poly);
          });
      }
      L.FeatureGroup.prototype.onAdd.call(this, m);
    }
  });
  var layers = IND.map(function (ind, k) {
    var layer = new IndicatorLayer(k);
    layer.on("mouseover", function (e) {
      e.layer.setStyle({color: "#111", weight: 2, dashArray: null}).bringToFront();
    });
    layer.on("mouseout", function (e) {
      e.layer.setStyle(styleFor(e.layer.feature, k));
      if (!isFlagged(e.layer.feature, k)) { return; }
      e.layer.bringToFront();
    });
    return layer;
  });

  // ---- overlays: outlines and hatching only, never a fill that changes the units' colours ----
  // Overlays are off at load: their shapes are made when first switched on.
  var LazyGroup = L.FeatureGroup.extend({
    initialize: function (make) { L.FeatureGroup.prototype.initialize.call(this); this.make = make; },
    onAdd: function (m) {
      if (this.make) { this.make().forEach(this.addLayer, this); this.make = null; }
      L.FeatureGroup.prototype.onAdd.call(this, m);
    },
    getLayers: function () {
      if (this.make) { this.make().forEach(this.addLayer, this); this.make = null; }
      return L.FeatureGroup.prototype.getLayers.call(this);
    }
  });
  var remoteFeatures = features.filter(function (f) { return f.remote && f.arcs.length; });
  var remote = new LazyGroup(function () {
    return remoteFeatures.map(function (f) {
      return L.polygon(f.latlngs, {pane: "dxRemote", fill: false, color: "#6a3d9a",
                                   weight: OVERVIEW ? 1 : 2, opacity: OVERVIEW ? 0.8 : 1,
                                   interactive: false, className: "dx-remote"});
    });
  });
  var provinceLines = new ArcLines(outlineLines, function () { return outlineLines.map(line); },
                                   {pane: "dxProvinces", color: "#1a1a1a",
                                    weight: OVERVIEW ? 1.2 : 2, opacity: 1, interactive: false,
                                    className: "dx-province"});
  var deadZones = null;
  if (zoneFeatures.length) {
    var dzStyle = {pane: "dxDeadZones", fillColor: "url(#dx-hatch-dz)", fillOpacity: 1,
                   color: "#111", weight: 1, dashArray: "3 2", opacity: 0.9,
                   interactive: false, className: "dx-dz"};
    deadZones = new LazyGroup(function () {
      return zoneFeatures.map(function (z) {
        var poly = L.polygon(polygons(z.g), dzStyle);
        poly.feature = z;
        return poly;
      });
    });
  }

  // ---- base map: sea (the map's background), land around, province and sea names ----
  var base = L.layerGroup();
  ((DATA.objects.base || {}).geometries || []).forEach(function (g) {
    var home = g.properties.home;
    base.addLayer(L.polygon(polygons(g), {pane: "dxBase", fillColor: home ? "#f6f3ec" : "#e4ddcd",
                                          fillOpacity: 1, color: "#a99f8a", weight: 0.8,
                                          interactive: false, className: "dx-base"}));
  });
  function label(text, lat, lng, kind) {
    var span = el("span", null, text);
    return L.marker([lat, lng], {pane: "dxLabels", interactive: false, keyboard: false,
                                 icon: L.divIcon({className: "dx-label dx-label-" + kind,
                                                  html: span, iconSize: null})});
  }
  (META.baseLabels || []).forEach(function (b) {
    base.addLayer(label(b[0], b[3], b[2], b[4] || "country"));
  });
  var provinceNames = L.layerGroup((META.provinceLabels || []).map(function (p) {
    return label(p[0], p[2], p[1], "province");
  }));
  // Names that would overlap at this zoom are hidden, the first listed kept (the page lists
  // provinces by size, then seas and neighbours).
  function placeLabels() {
    var marks = provinceNames.getLayers().concat(base.getLayers()).filter(function (m) {
      return m.getLatLng && m.getElement && m.getElement();
    });
    var boxes = marks.map(function (m) {  // every size read first: one layout, not one each
      var span = m.getElement().firstChild, w = span.offsetWidth, h = span.offsetHeight;
      var c = map.latLngToContainerPoint(m.getLatLng());
      return [c.x - w / 2 - 2, c.y - h / 2 - 2, c.x + w / 2 + 2, c.y + h / 2 + 2];
    });
    var placed = [];
    marks.forEach(function (m, i) {
      var box = boxes[i];
      var free = placed.every(function (b) {
        return box[2] < b[0] || box[0] > b[2] || box[3] < b[1] || box[1] > b[3];
      });
      m.getElement().style.visibility = free ? "" : "hidden";
      if (free) { placed.push(box); }
    });
  }

  function esc(s) {
    var d = document.createElement("div"); d.textContent = s; return d.innerHTML;
  }
  var baseLayers = {};
  IND.forEach(function (ind, k) {
    baseLayers[esc(ind.vi) + ' <span class="dx-en">/ ' + esc(ind.en) + "</span>"] = layers[k];
  });
  var overlays = {};
  overlays['Vùng khó khăn (biên giới, hải đảo, vùng sâu, vùng xa) <span class="dx-en">/ remote units</span>'] = remote;
  if (deadZones) {
    overlays[esc("Vùng lõm sóng " + DZ.technology) + ' <span class="dx-en">/ ' +
             esc(DZ.technology + " dead zones") + "</span>"] = deadZones;
  }
  overlays['Ranh giới tỉnh <span class="dx-en">/ province outlines</span>'] = provinceLines;
  if (provinceNames.getLayers().length) {
    overlays['Tên tỉnh <span class="dx-en">/ province names</span>'] = provinceNames;
  }

  // ---- legend: on the map's bottom right, folding away behind its title ----
  var legendBody = null;
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    var d = el("details", "dx-box dx-legend");
    d.open = true;
    bi(el("summary", "dx-panel-title", null, d), "Chú giải", "legend");
    legendBody = el("div", "dx-legend-body", null, d);
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  function thresholds(ind) {
    var a = fmt(ind.cls[0]), b = fmt(ind.cls[1]);
    return {meets_target: ind.dir === "higher" ? "≥ " + fmt(ind.target) : "≤ " + fmt(ind.target),
            small: "≤ " + a, medium: a + "–" + b, large: "> " + b};
  }
  function drawLegend(k) {
    var d = legendBody, ind = IND[k];
    d.textContent = "";
    bi(el("h3", null, null, d), ind.vi, ind.en);
    bi(el("div", null, null, d),
       "Mục tiêu: " + fmt(ind.target) + " " + (ind.unit === "percent" ? "%" : ind.uvi),
       "target, gap in " + (ind.unit === "percent" ? "percentage points" : ind.uen));
    var counts = META.classes.map(function () { return 0; });
    features.forEach(function (f) { counts[classOf(f, k)] += 1; });
    var th = thresholds(ind);
    META.classes.forEach(function (c, i) {
      if (ALWAYS.indexOf(c) < 0 && !counts[i]) { return; }  // no_data, other classes
      var r = el("div", "dx-row dx-class", null, d);
      r.setAttribute("data-class", c);
      var sw = el("span", "dx-sw" + (c === "not_reported" ? " dx-sw-nr" : ""), null, r);
      if (c !== "not_reported") { sw.style.background = COLOURS[i]; }
      var lab = CLASS_LABELS[c];
      bi(el("span", null, null, r), lab[0], lab[1] + (th[c] ? " (" + th[c] + ")" : ""));
      el("span", "dx-count", counts[i], r);
    });
    var behind = el("div", "dx-row", null, d);
    bi(el("span", null, null, behind), "Chưa đạt mục tiêu (kể cả chưa báo cáo)",
       "behind target, not reported included");
    el("span", "dx-count", BEHIND.reduce(function (s, i) { return s + (counts[i] || 0); }, 0),
       behind);
    var nr = el("div", "dx-row", null, d);
    el("span", "dx-sw dx-sw-remote", null, nr);
    bi(el("span", null, null, nr), "Vùng khó khăn: biên giới, hải đảo, vùng sâu, vùng xa",
       "remote: border, island, remote class");
    el("span", "dx-count", remoteFeatures.length, nr);
    var pr = el("div", "dx-row", null, d);
    el("span", "dx-sw dx-sw-prov", null, pr);
    bi(el("span", null, null, pr), "Ranh giới tỉnh", "province outline");
    if (deadZones) {
      var dz = el("div", "dx-row", null, d);
      el("span", "dx-sw dx-sw-dz", null, dz);
      bi(el("span", null, null, dz), "Vùng lõm sóng " + DZ.technology + " (" +
         fmt(DZ.population) + " người)", DZ.technology + " dead zones, people in them");
      el("span", "dx-count", zoneFeatures.length, dz);
      if (DZ.total > DZ.count) {
        bi(el("div", "dx-row dx-note-dz", null, d),
           DZ.count + "/" + DZ.total + " vùng (vùng khó khăn trước, rồi đông dân); đủ " +
           fmt(DZ.totalPopulation) + " người ở trang từng tỉnh",
           "the " + DZ.count + " of " + DZ.total + " zones shown: remote first, then most people; " +
           "every zone on the province pages");
      }
    }
    if (k === CHECK_K) {
      var fl = el("div", "dx-row dx-flag-row", null, d);
      el("span", "dx-sw dx-sw-flag", null, fl);
      var tol = CHECK.units.length ? CHECK.units[0][4] : null;
      var beyond = tol === null ? "" : " quá " + fmt(tol) + " điểm";
      bi(el("span", null, null, fl), "⚠ Báo cáo lệch số liệu trạm phát sóng" + beyond,
         "reported differs from the cell sites" + (tol === null ? "" : " by more than " + tol +
         " points"));
      el("span", "dx-count", flagged, fl);
    }
    if (MIXED) {
      var ap = el("div", "dx-row", null, d);
      el("span", "dx-sw dx-sw-approx", null, ap);
      bi(el("span", null, null, ap), "Ranh giới xấp xỉ", "approximate boundary");
    }
  }

  // ---- ranked list (side panel): behind target with a gap, remote first, largest gap first ----
  var rankList = document.querySelector(".dx-ranking-list");
  var rankStatus = document.querySelector(".dx-ranking-status");
  var more = document.querySelector(".dx-more");
  var PAGE = 50, ranked = [], shown = 0;
  function ranking(k) {
    var out = features.filter(function (f) {
      var r = row(f, k);
      return r && GAP_CLASSES.indexOf(r[3]) >= 0 && r[2] !== undefined && r[2] !== null;
    });
    out.sort(function (a, b) {
      return (b.remote - a.remote) || (row(b, k)[2] - row(a, k)[2]) ||
        (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
    });
    return out;
  }
  function showMore() {
    var ind = IND[current];
    ranked.slice(shown, shown + PAGE).forEach(function (f) {
      var li = el("li", null, null, rankList);
      var btn = el("button", null, null, li);
      btn.type = "button";
      btn.setAttribute("data-code", f.code);
      el("span", "dx-rank-name", f.properties.n, btn);
      if (OVERVIEW) {
        el("span", "dx-en", " — " + (META.provinces[f.properties.p] || ["", ""])[1], btn);
      }
      if (f.remote) { el("span", "dx-badge", "khó khăn / remote", btn); }
      el("div", "dx-rank-gap", "Khoảng cách / gap: " + fmt(row(f, current)[2]) + " " +
         gapUnit(ind) + " · " + CLASS_LABELS[META.classes[classOf(f, current)]][1], btn);
      btn.addEventListener("click", function () { select(f.code); });
    });
    shown = Math.min(ranked.length, shown + PAGE);
    more.hidden = shown >= ranked.length;
  }
  function drawRanking(k) {
    ranked = ranking(k);
    shown = 0;
    rankList.textContent = "";
    var remoteCount = ranked.filter(function (f) { return f.remote; }).length;
    rankStatus.textContent = ranked.length + " đơn vị có khoảng cách (" + remoteCount +
      " vùng khó khăn) / units with a gap (" + remoteCount + " remote)";
    showMore();
  }
  more.addEventListener("click", showMore);

  // ---- note: title, period, which geometry ----
  var note = L.control({position: "bottomleft"});
  note.onAdd = function () {
    var d = el("details", "dx-box dx-note");
    var summary = el("summary", null, null, d);
    el("h3", null, META.title, summary);
    bi(el("div", "dx-period", null, summary), "Kỳ báo cáo: " + META.period, "period");
    var gs = META.geometry.sources, parts = [];
    if (gs.official) { parts.push("chính thức / official: " + gs.official); }
    if (gs.approximate) { parts.push("xấp xỉ / approximate: " + gs.approximate); }
    Object.keys(gs).forEach(function (k) {
      if (k !== "official" && k !== "approximate") { parts.push(k + ": " + gs[k]); }
    });
    var g = el("div", "dx-geometry", null, d);
    bi(g, "Ranh giới hiển thị", "boundaries shown");
    el("span", null, ": " + parts.join(" · "), g);
    bi(el("div", "dx-en", null, d), "Đã giản lược để hiển thị (" + META.geometry.tolerance + "°), dữ liệu gốc giữ nguyên độ chính xác",
       "simplified for display; the lake keeps full precision");
    L.DomEvent.disableClickPropagation(d);
    return d;
  };

  // ---- cell-site rows rejected (side panel), pointing to the quality report ----
  if (CHECK && CHECK.rejected !== null && CHECK.rejected !== undefined) {
    var sites = document.querySelector(".dx-sites");
    sites.hidden = false;
    bi(el("div", "dx-sites-count", null, sites),
       "Đã loại " + fmt(CHECK.rejected) + " dòng danh sách trạm phát sóng",
       fmt(CHECK.rejected) + " cell-site rows rejected");
    if (CHECK.quality) {
      var a = el("a", null, null, sites);
      a.href = CHECK.quality;
      bi(a, "Xem báo cáo chất lượng dữ liệu", "see the data-quality report");
    }
  }

  // ---- focus: a unit or a province, highlighted, with the unit's tooltip ----
  var current = 0, highlight = null, found = null;
  function clearFocus() {
    if (highlight) { map.removeLayer(highlight); highlight = null; }
    if (found) { map.closeTooltip(found); found = null; }
  }
  function focusOn(shape, tip) {
    clearFocus();
    highlight = shape.addTo(map);
    map.fitBounds(highlight.getBounds(), {maxZoom: 12, padding: [40, 40], animate: false});
    if (tip) {
      found = L.tooltip({direction: "top", className: "dx-tooltip dx-found", opacity: 1})
        .setLatLng(highlight.getBounds().getCenter()).setContent(tip);
      map.openTooltip(found);
    }
  }
  var highlightStyle = {pane: "dxHighlight", fill: false, color: "#00b7ff", weight: 4,
                        opacity: 1, interactive: false, className: "dx-highlight"};
  function select(code) {
    var f = byCode[code];
    if (!f || !f.latlngs.length) { return false; }
    focusOn(L.polygon(f.latlngs, highlightStyle), tooltipFor(f, current));
    return true;
  }
  function provinceOutline(prov) {  // the arcs its units use once: its boundary
    var uses = {};
    prov.units.forEach(function (f) {
      unitGeoms[f.i].arcs.forEach(function (poly) {
        poly.forEach(function (refs) {
          refs.forEach(function (r) { var a = r >= 0 ? r : ~r; uses[a] = (uses[a] || 0) + 1; });
        });
      });
    });
    return Object.keys(uses).filter(function (a) { return uses[a] === 1; })
      .map(function (a) { return arcLatLngs(+a); });
  }
  function selectProvince(prov) {
    if (!prov.units.length) { return false; }
    var box = el("div", "dx-tip");
    el("div", "dx-tip-title", prov.name, box);
    bi(el("div", null, null, box), prov.units.length + " đơn vị cấp xã", "communes and wards");
    focusOn(L.polyline(provinceOutline(prov), highlightStyle), box);
    return true;
  }

  // ---- search: word starts, with or without diacritics; communes, wards and provinces ----
  function matches(key, qy) { return (" " + key + " ").indexOf(" " + qy) >= 0; }
  function searchBox(d) {  // in the side panel, above the layer list: it covers no unit
    var input = el("input", null, null, d);
    input.type = "search";
    input.placeholder = "Tìm xã, phường, tỉnh… / find a unit or province";
    input.setAttribute("aria-label", "Tìm đơn vị / find a unit or province");
    var list = el("ul", null, null, d);
    var status = el("div", "dx-status", null, d);
    var hits = [];
    function update() {
      var qy = fold(input.value);
      list.textContent = ""; hits = [];
      if (!qy) { status.textContent = ""; clearFocus(); return; }
      provinces.forEach(function (p) {
        if (matches(p.key, qy) || p.code === qy) {
          hits.push([p.key.indexOf(qy) === 0 ? 0 : 1, 0, p.key.length, p, true]);
        }
      });
      features.forEach(function (f) {
        if (!matches(f.key, qy) && f.code !== qy) { return; }
        var rank = f.code === qy || f.short.indexOf(qy) === 0 || f.key.indexOf(qy) === 0 ? 0 : 1;
        hits.push([rank, 1, f.key.length, f, false]);
      });
      hits.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1] || a[2] - b[2]; });
      hits.slice(0, 12).forEach(function (h) {
        var btn = el("button", null, null, el("li", null, null, list));
        btn.type = "button";
        if (h[4]) {
          btn.textContent = h[3].name;
          el("span", "dx-kind", " — tỉnh, thành phố / province", btn);
        } else {
          var f = h[3], prov = META.provinces[f.properties.p] || ["", ""];
          btn.textContent = f.properties.n + " — " + prov[1];
        }
        btn.addEventListener("click", function () { pick(h); });
      });
      status.textContent = hits.length ? hits.length + " kết quả / results"
                                       : "Không tìm thấy / not found";
    }
    function pick(h) {
      var name = h[4] ? h[3].name : h[3].properties.n;
      var ok = h[4] ? selectProvince(h[3]) : select(h[3].code);
      status.textContent = ok ? "Đã chọn / selected: " + name
        : name + ": không có ranh giới / no boundary to show";
    }
    input.addEventListener("input", update);
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && hits.length) { e.preventDefault(); pick(hits[0]); }
    });
  }

  // ---- assemble ----
  // Controls, panels and names first, while the page is light: their layout is measured once
  // (the layer list's own measuring is not needed, it lives in the side panel); units last.
  searchBox(document.querySelector(".dx-search"));
  var control = L.control.layers(baseLayers, overlays, {collapsed: false, position: "topright"});
  control._expandIfNotCollapsed = function () {
    L.DomUtil.addClass(this._container, "leaflet-control-layers-expanded");
    return this;
  };
  control.addTo(map);
  // The layer list lives in the side panel, beside the map: it never covers a unit.
  document.querySelector(".dx-layers-body").appendChild(control.getContainer());
  legend.addTo(map);
  drawLegend(0);
  var bb = META.bbox;
  if (bb) {  // the units beside the legend, not under it
    map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]],
                  {animate: false, paddingTopLeft: [10, 10],
                   paddingBottomRight: [legend.getContainer().offsetWidth + 10, 10]});
  }
  drawRanking(0);
  note.addTo(map);
  base.addTo(map);
  if (OVERVIEW) { provinceNames.addTo(map); }
  placeLabels();
  layers[0].addTo(map);
  provinceLines.addTo(map);
  map.on("zoomend", placeLabels);
  map.on("overlayadd", function (e) { if (e.layer === provinceNames) { placeLabels(); } });
  map.on("baselayerchange", function (e) {
    current = layers.indexOf(e.layer);
    drawLegend(current);
    drawRanking(current);
  });
  window.dxMap = {map: map, layers: layers, features: features, select: select,
                  deadZones: deadZones, remote: remote, provinces: provinces,
                  ranked: function () { return ranked.map(function (f) { return f.code; }); },
                  current: function () { return current; }, meta: META,
                  flagged: function () {
                    return features.filter(function (f) { return f.check; })
                      .map(function (f) { return f.code; });
                  },
                  timing: {scriptStart: T0, ready: performance.now()}};
  document.documentElement.setAttribute("data-dx-ready", "1");
})();
