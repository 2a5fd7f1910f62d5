// The tracing tutorial's trace viewer: plain JavaScript, no build step, no
// third-party code. Jaeger serves index.html for "/", "/search" and
// "/trace/<id>", and this file from /static/; the page reads Jaeger's query
// API on the same origin.
//
// It draws a trace the way cmd/trace (internal/infra/traceview) does: spans
// depth-first, children in start-time order, each under the span its first
// CHILD_OF or FOLLOWS_FROM reference names; a span whose parent is not in
// the trace is drawn at top level with "(parent … missing)", never hidden.
// Keep the two in step: internal/tests/viewer checks that they agree.
"use strict";

(function () {
  const main = document.getElementById("main");
  const form = document.getElementById("search");
  const serviceSelect = document.getElementById("service");
  const limitSelect = document.getElementById("limit");
  const idInput = document.getElementById("trace-id");

  // One colour per service, by first appearance; no red, which means error.
  const palette = ["#0e8a9a", "#b07d00", "#2e8b3a", "#9a3fb0", "#3b6fd1",
    "#d0602a", "#5a7d12", "#c2407e", "#4f5fb8", "#7a6a4f"];

  // Tags that no lesson explains, or that Jaeger adds: what they mean.
  const tagNotes = {
    "sampler.type": "jaeger-client-go's sampler, which decided to record this trace: \"const\" records every trace (JAEGER_SAMPLER_TYPE). Only the first span of a trace in each process carries it.",
    "sampler.param": "the sampler's setting: for \"const\", true means record every trace (JAEGER_SAMPLER_PARAM=1).",
    "otel.status_code": "added by Jaeger, not by our code: Jaeger 2 stores spans in OpenTelemetry's model, where a span tagged error=true has the status ERROR.",
    "otel.status_description": "added by Jaeger: the status message of OpenTelemetry's model.",
    "error": "the span failed: ext.Error.Set(span, true). The viewer and cmd/trace draw it red.",
    "span.kind": "which side of a boundary the span is: server and client around an HTTP call, producer and consumer around the queue.",
    "internal.span.format": "added by Jaeger: the format the span arrived in (jaeger.thrift from jaeger-client-go).",
    "hostname": "the machine the service ran on (jaeger-client-go reports it).",
    "host.name": "the machine the service ran on: jaeger-client-go reports it as hostname, and Jaeger 2 gives it OpenTelemetry's name.",
    "opencensus.exporterversion": "added by Jaeger 2 when it translates the spans: the jaeger-client-go version that reported them.",
    "ip": "the service's IP address (jaeger-client-go reports it).",
    "jaeger.version": "the version of jaeger-client-go that reported the span.",
    "client-uuid": "jaeger-client-go's ID for this run of the service.",
  };

  // formatDuration writes microseconds with three significant digits, as
  // internal/infra/traceview does: 812µs, 45.6ms, 1.23s.
  function formatDuration(us) {
    if (us < 0) return "-" + formatDuration(-us);
    if (us < 1000) return Math.round(us) + "µs";
    const sig = (v, unit) => {
      if (v < 9.995) return v.toFixed(2) + unit;
      if (v < 99.95) return v.toFixed(1) + unit;
      if (v < 999.5) return v.toFixed(0) + unit;
      return "";
    };
    const ms = sig(us / 1e3, "ms");
    if (ms) return ms;
    const s = sig(us / 1e6, "s");
    if (s && us < 60e6) return s;
    const total = Math.round(us / 1e6);
    const h = Math.floor(total / 3600), m = Math.floor(total / 60) % 60, sec = total % 60;
    return (h ? h + "h" : "") + (h || m ? m + "m" : "") + sec + "s";
  }

  function plural(n, word) {
    return n === 1 ? "1 " + word : n + " " + word + "s";
  }

  // parentRef is the reference that places a span in the tree: its first
  // CHILD_OF or FOLLOWS_FROM reference, as jaeger.Span.ParentID reads it.
  function parentRef(span) {
    for (const ref of span.references || []) {
      if (ref.refType === "CHILD_OF" || ref.refType === "FOLLOWS_FROM") return ref;
    }
    return null;
  }

  function tag(span, key) {
    for (const t of span.tags || []) if (t.key === key) return t.value;
    return undefined;
  }

  function isError(span) {
    const v = tag(span, "error");
    return v === true || (typeof v === "string" && /^(1|t|true)$/i.test(v));
  }

  // layout orders the spans as internal/infra/traceview's rows does.
  function layout(trace) {
    const spans = trace.spans || [];
    const byID = new Map();
    spans.forEach((s, i) => { if (!byID.has(s.spanID)) byID.set(s.spanID, i); });
    const children = spans.map(() => []);
    const top = [];
    const missing = spans.map(() => false);
    spans.forEach((s, i) => {
      const ref = parentRef(s);
      if (!ref) { top.push(i); return; }
      const p = byID.get(ref.spanID);
      if (p === undefined) { top.push(i); missing[i] = true; }
      else if (p !== i) children[p].push(i);
    });
    const byStart = (a, b) => spans[a].startTime - spans[b].startTime; // Array.sort is stable
    top.sort(byStart);
    children.forEach(c => c.sort(byStart));

    const seen = spans.map(() => false);
    const rows = [];
    const visit = (i, branch, below, depth) => {
      seen[i] = true;
      const kids = children[i].filter(c => !seen[c]);
      rows.push({ span: spans[i], branch, below, depth, leaf: kids.length === 0, problem: "" });
      kids.forEach((c, k) => {
        const last = k === kids.length - 1;
        visit(c, below + (last ? "└─ " : "├─ "), below + (last ? "   " : "│  "), depth + 1);
      });
    };
    for (const i of top) {
      const at = rows.length;
      visit(i, "", "", 0);
      if (missing[i]) rows[at].problem = "missing";
    }
    // Only spans in reference cycles are left: draw them too.
    const rest = spans.map((_, i) => i).filter(i => !seen[i]).sort(byStart);
    for (const i of rest) {
      if (seen[i]) continue;
      const at = rows.length;
      visit(i, "", "", 0);
      rows[at].problem = "in a cycle";
    }
    return rows;
  }

  function serviceOf(trace, span) {
    const p = (trace.processes || {})[span.processID];
    return (p && p.serviceName) || "?";
  }

  // summary is what the header and the list say about a trace.
  function summary(trace) {
    const spans = trace.spans || [];
    let start = Infinity, end = -Infinity, errors = 0;
    for (const s of spans) {
      start = Math.min(start, s.startTime);
      end = Math.max(end, s.startTime + s.duration);
      if (isError(s)) errors++;
    }
    const rows = layout(trace);
    const colors = new Map();
    for (const r of rows) {
      const svc = serviceOf(trace, r.span);
      if (!colors.has(svc)) colors.set(svc, palette[colors.size % palette.length]);
    }
    return { spans, rows, start, end, total: end - start, errors, colors, root: rows[0] && rows[0].span };
  }

  // el builds an element: el("span", {class: "x"}, "text", child, ...).
  function el(name, attrs, ...kids) {
    const e = document.createElement(name);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "style") Object.assign(e.style, v);
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(e.dataset, v);
      else e.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === undefined || kid === null || kid === false) continue;
      e.append(kid instanceof Node ? kid : String(kid));
    }
    return e;
  }

  function formatValue(v) {
    if (v === null || v === undefined) return "\"\"";
    const s = typeof v === "string" ? v : String(v);
    return s === "" || /[\s="]/.test(s) ? JSON.stringify(s) : s;
  }

  function setState(state) {
    document.body.dataset.state = state;
  }

  function message(kind, ...content) {
    main.replaceChildren(el("div", { class: "message " + kind, id: "message" }, ...content));
  }

  async function api(path) {
    let resp;
    try {
      resp = await fetch(path, { headers: { Accept: "application/json" } });
    } catch (e) {
      throw new Error("cannot reach Jaeger (" + e.message + "): is `make run` still running?");
    }
    if (resp.status === 404) return null;
    let body;
    try {
      body = await resp.json();
    } catch (e) {
      throw new Error("Jaeger answered " + resp.status + " with no JSON");
    }
    if (!resp.ok) {
      const why = (body.errors || []).map(e => e.msg).join("; ");
      throw new Error("Jaeger answered " + resp.status + (why ? ": " + why : ""));
    }
    return body.data;
  }

  // ---- the trace ----

  async function showTrace(rawID) {
    const id = rawID.trim().toLowerCase();
    idInput.value = id;
    document.title = "Trace " + id + " · the tracing tutorial's viewer";
    if (id === "") {
      setState("error");
      message("error", "No trace ID in the address: open /trace/<trace-id>, with the X-Trace-Id of a response, ",
        "or pick a trace from ", el("a", { href: "/search" }, "the latest"), ".");
      return;
    }
    if (!/^[0-9a-f]{1,32}$/.test(id)) {
      setState("error");
      message("error", "“" + rawID + "” is not a trace ID. A trace ID is 1 to 32 hex digits, " +
        "as in the X-Trace-Id header of a response or the trace= link a program logs.");
      return;
    }
    setState("loading");
    message("info", "Loading trace " + id + "…");
    // A link opened as soon as it is logged can beat the spans to Jaeger:
    // the programs send theirs within a second. Wait that long, as
    // cmd/trace does, for the trace and for the parents its spans name.
    const deadline = Date.now() + arrivalMs;
    let data;
    for (;;) {
      try {
        data = await api("/api/traces/" + encodeURIComponent(id));
      } catch (e) {
        setState("error");
        message("error", "Trace " + id + ": " + e.message);
        return;
      }
      const whole = data && data.length > 0 && !layout(data[0]).some(r => r.problem);
      if (whole || Date.now() >= deadline) break;
      if (data && data.length > 0) renderTrace(data[0]);
      await new Promise(resolve => setTimeout(resolve, 250));
    }
    if (!data || data.length === 0) {
      setState("not-found");
      message("error", el("strong", {}, "No trace " + id + " in this Jaeger."),
        " Its spans did not arrive within " + arrivalMs / 1000 + " seconds, so it is not a trace of this Jaeger's, " +
        "or Jaeger has restarted since: it keeps traces in memory only, so stopping ",
        el("code", {}, "make run"), " loses them. ",
        el("a", { href: "/search" }, "See the latest traces."));
      return;
    }
    renderTrace(data[0]);
    setState("trace");
  }

  // arrivalMs is how long a trace, or a span's parent, is waited for.
  const arrivalMs = 3000;

  function renderTrace(trace) {
    const sum = summary(trace);
    const header = el("h2", { id: "trace-title" },
      "Trace " + trace.traceID + ": " + formatDuration(sum.total) + ", " +
      plural(sum.spans.length, "span") + ", " + plural(sum.colors.size, "service"),
      sum.errors > 0 ? el("span", { class: "error-text" }, ", " + plural(sum.errors, "error")) : null);

    const legend = el("p", { class: "legend" },
      [...sum.colors].map(([svc, color]) =>
        el("span", { class: "chip", style: { borderColor: color, color } }, svc)),
      sum.errors > 0 ? el("span", { class: "chip error-chip" }, "error") : null,
      el("span", { class: "hint" }, "Click a span for its tags and logs."));

    const axis = el("div", { class: "row axis", role: "row" },
      el("span", { class: "name" }, "service operation"),
      el("span", { class: "num" }, "start"),
      el("span", { class: "num" }, "duration"),
      el("span", { class: "lane ticks" },
        [0, 0.25, 0.5, 0.75, 1].map(f => el("span", { class: "tick", style: { left: f * 100 + "%" } },
          f === 0 ? "0" : formatDuration(sum.total * f)))));

    const body = el("div", { class: "waterfall", role: "table", id: "waterfall" }, axis);
    for (const r of sum.rows) {
      const [row, details] = spanRow(trace, sum, r);
      body.append(row, details);
    }
    const note = sum.rows.some(r => r.problem)
      ? el("p", { class: "message warn" }, "Some spans name a parent that is not in this trace: ",
        "it has not arrived yet (reload in a moment), or it was lost. They are drawn at top level, marked.")
      : null;
    main.replaceChildren(...[header, legend, note, body].filter(Boolean));
  }

  function spanRow(trace, sum, r) {
    const s = r.span;
    const svc = serviceOf(trace, s);
    const color = sum.colors.get(svc);
    const err = isError(s);
    const ref = parentRef(s);
    const follows = ref && ref.refType === "FOLLOWS_FROM";
    const offset = s.startTime - sum.start;
    const total = sum.total > 0 ? sum.total : 1;
    const left = Math.min(Math.max(offset / total, 0), 1) * 100;
    const width = Math.max(s.duration / total * 100, 0.3);

    const detailsID = "details-" + s.spanID + "-" + sum.rows.indexOf(r);
    const details = spanDetails(trace, sum, r);
    details.id = detailsID;
    details.hidden = true;

    const row = el("div", {
      class: "row span" + (err ? " is-error" : "") + (r.problem ? " is-orphan" : "") + (follows ? " is-follows" : ""),
      role: "row", tabindex: "0", "aria-expanded": "false", "aria-controls": detailsID,
      dataset: { spanId: s.spanID, depth: String(r.depth), service: svc, operation: s.operationName,
        error: String(err), problem: r.problem, refType: ref ? ref.refType : "" },
      onclick: () => toggle(row, details),
      onkeydown: e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(row, details); } },
    },
    el("span", { class: "name", title: svc + " " + s.operationName },
      el("span", { class: "tree" }, r.branch),
      el("span", { class: "service", style: { color } }, svc), " ",
      el("span", { class: "op" }, s.operationName),
      follows ? el("span", { class: "badge follows", title: "a FOLLOWS_FROM reference: started by its parent, not waited for" }, "follows from") : null,
      err ? el("span", { class: "badge error" }, "ERROR") : null,
      r.problem ? el("span", { class: "note" }, "(parent " + (ref ? ref.spanID : "?") + " " + r.problem + ")") : null),
    el("span", { class: "num" }, formatDuration(offset)),
    el("span", { class: "num" }, formatDuration(s.duration)),
    el("span", { class: "lane" },
      el("span", { class: "bar", style: { left: left + "%", width: Math.min(width, 100 - left) + "%", background: err ? "" : color } })));
    return [row, details];
  }

  function toggle(row, details) {
    details.hidden = !details.hidden;
    row.setAttribute("aria-expanded", String(!details.hidden));
  }

  function spanDetails(trace, sum, r) {
    const s = r.span;
    const proc = (trace.processes || {})[s.processID] || { tags: [] };
    const kv = (key, value) => el("tr", {},
      el("th", {}, key), el("td", {}, formatValue(value)),
      el("td", { class: "explain" }, tagNotes[key] || ""));
    const refs = (s.references || []).map(ref => el("li", {},
      ref.refType + " span " + ref.spanID,
      ref.traceID && ref.traceID !== trace.traceID ? " of trace " + ref.traceID : "",
      sum.spans.some(x => x.spanID === ref.spanID) ? "" : " (not in this trace)"));
    return el("div", { class: "details", role: "region" },
      el("p", { class: "meta" },
        "span " + s.spanID + " · " + serviceOf(trace, s) + " · started at +" +
        formatDuration(s.startTime - sum.start) + " · took " + formatDuration(s.duration)),
      refs.length ? el("div", {}, el("h4", {}, "References"), el("ul", {}, refs)) : null,
      el("h4", {}, "Tags"),
      (s.tags || []).length ? el("table", { class: "tags" }, (s.tags || []).map(t => kv(t.key, t.value)))
        : el("p", { class: "none" }, "none"),
      el("h4", {}, "Logs"),
      (s.logs || []).length ? el("ul", { class: "logs" }, (s.logs || []).map(log =>
        el("li", {}, el("span", { class: "at" }, "+" + formatDuration(log.timestamp - s.startTime)), " ",
          (log.fields || []).map(f => f.key + "=" + formatValue(f.value)).join(" "))))
        : el("p", { class: "none" }, "none"),
      el("h4", {}, "Process: " + (proc.serviceName || "?")),
      el("table", { class: "tags" }, (proc.tags || []).map(t => kv(t.key, t.value))));
  }

  // ---- the list of traces ----

  async function showSearch(params) {
    setState("loading");
    let services;
    try {
      services = (await api("/api/services")) || [];
    } catch (e) {
      setState("error");
      message("error", e.message);
      return;
    }
    services.sort();
    const wanted = params.get("service");
    const service = services.includes(wanted) ? wanted
      : services.includes("gateway") ? "gateway" : services[0];
    serviceSelect.replaceChildren(...services.map(s => el("option", { selected: s === service }, s)));
    const limit = /^\d+$/.test(params.get("limit") || "") ? params.get("limit") : "20";
    limitSelect.value = limit;
    if (!service) {
      setState("empty");
      message("info", "No traces yet. Send a request to the step's program (`make run` prints a curl command), " +
        "then reload. Steps 1 and 2 send no traces: tracing starts at step 3.");
      return;
    }
    let traces;
    try {
      traces = (await api("/api/traces?" + new URLSearchParams({ service, limit, lookback: "1h" }))) || [];
    } catch (e) {
      setState("error");
      message("error", e.message);
      return;
    }
    const items = traces.map(t => ({ trace: t, sum: summary(t) })).sort((a, b) => b.sum.start - a.sum.start);
    if (items.length === 0) {
      setState("empty");
      message("info", "No trace of " + service + " in the last hour.");
      return;
    }
    const list = el("ol", { class: "traces", id: "traces" }, items.map(({ trace, sum }) => {
      const root = sum.root;
      return el("li", { dataset: { traceId: trace.traceID } },
        el("a", { href: "/trace/" + trace.traceID, class: "trace-link" },
          el("span", { class: "when" }, new Date(sum.start / 1000).toLocaleTimeString()),
          el("span", { class: "what" }, root ? serviceOf(trace, root) + " " + root.operationName : "?",
            root && tag(root, "http.url") !== undefined
              ? el("span", { class: "request" }, " " + tag(root, "http.url") +
                (tag(root, "http.status_code") !== undefined ? " → " + tag(root, "http.status_code") : ""))
              : null),
          el("span", { class: "num" }, formatDuration(sum.total))),
        el("span", { class: "facts" },
          plural(sum.spans.length, "span"), " · ",
          [...sum.colors].map(([svc, color]) => el("span", { class: "chip", style: { borderColor: color, color } }, svc)),
          sum.errors ? el("span", { class: "error-text" }, " " + plural(sum.errors, "error")) : null,
          el("code", { class: "id" }, trace.traceID)));
    }));
    main.replaceChildren(el("h2", {}, "Latest traces of " + service), list);
    setState("search");
  }

  // ---- routing ----

  form.addEventListener("submit", e => {
    e.preventDefault();
    const id = idInput.value.trim();
    if (e.submitter && e.submitter.id === "open" || (id && document.activeElement === idInput)) {
      location.assign("/trace/" + encodeURIComponent(id));
      return;
    }
    location.assign("/search?" + new URLSearchParams({ service: serviceSelect.value, limit: limitSelect.value }));
  });

  const m = /^\/trace\/([^/]*)\/?$/.exec(location.pathname);
  if (m) {
    showTrace(decodeURIComponent(m[1]));
    // The list's form still needs the services.
    api("/api/services").then(services => {
      (services || []).sort().forEach(s => serviceSelect.append(el("option", { selected: s === "gateway" }, s)));
    }).catch(() => {});
  } else {
    showSearch(new URLSearchParams(location.search));
  }
})();
