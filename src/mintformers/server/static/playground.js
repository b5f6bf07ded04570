// The playground: plain DOM and fetch, no libraries, nothing loaded from elsewhere.
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, streamLog: [] };
window.playground = state; // for the browser test: what the page saw

function headers() {
  const h = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) h["Authorization"] = "Bearer " + key;
  return h;
}

function showError(message) {
  $("error").textContent = message || "";
}

async function post(path, body) {
  showError("");
  const response = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  const data = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) {
    const message = typeof data.error === "string" ? data.error : (data.error && data.error.message) || response.statusText;
    throw new Error(`${response.status}: ${message}`);
  }
  return data;
}

function fill(list, rows) {
  list.replaceChildren(...rows.map(([score, text]) => {
    const item = document.createElement("li");
    const value = document.createElement("span");
    value.className = "score";
    value.textContent = score.toFixed(4);
    item.append(value, " ", text);
    return item;
  }));
}

function guarded(button, action) {
  $(button).addEventListener("click", async () => {
    $(button).disabled = true;
    try { await action(); } catch (e) { showError(e.message); } finally { $(button).disabled = false; }
  });
}

const lines = (id) => $(id).value.split("\n").map((s) => s.trim()).filter(Boolean);

// ---- embeddings ----------------------------------------------------------------------------------------------
guarded("search-run", async () => {
  const texts = lines("search-texts");
  const scores = await post("/similarity", { inputs: { source_sentence: $("search-query").value, sentences: texts } });
  const ranked = texts.map((t, i) => [scores[i], t]).sort((a, b) => b[0] - a[0]);
  fill($("search-results"), ranked);
});

guarded("sim-run", async () => {
  const [score] = await post("/similarity", { inputs: { source_sentence: $("sim-a").value, sentences: [$("sim-b").value] } });
  $("sim-result").textContent = "similarity " + score.toFixed(4);
});

// ---- task pipelines --------------------------------------------------------------------------------------------
guarded("mask-run", async () => {
  const { outputs } = await post("/predict", { inputs: $("mask-text").value, parameters: { top_k: 5 } });
  const best = Array.isArray(outputs[0]) ? outputs[0] : outputs; // several masks: the first one's candidates
  fill($("mask-results"), best.map((p) => [p.score, p.sequence || p.token_str]));
});

guarded("classify-run", async () => {
  const labels = await post("/predict", { inputs: $("classify-text").value });
  fill($("classify-results"), labels.map((l) => [l.score, l.label]));
});

guarded("rerank-run", async () => {
  const hits = await post("/rerank", { query: $("rerank-query").value, texts: lines("rerank-texts"), return_text: true });
  fill($("rerank-results"), hits.map((h) => [h.score, h.text]));
});

guarded("pipe-run", async () => {
  const body = { inputs: JSON.parse($("pipe-inputs").value), parameters: JSON.parse($("pipe-params").value || "{}") };
  $("pipe-output").textContent = JSON.stringify((await post("/predict", body)).outputs, null, 2);
});

// ---- streamed generation: server-sent events read from the fetch body ----------------------------------------------
let controller = null;

guarded("gen-run", async () => {
  const out = $("gen-output");
  out.textContent = "";
  delete out.dataset.done;
  state.streamLog = [];
  controller = new AbortController();
  $("gen-stop").disabled = false;
  const temperature = Number($("gen-temp").value);
  const parameters = { max_new_tokens: Number($("gen-max").value) };
  if (temperature > 0) Object.assign(parameters, { do_sample: true, temperature });
  try {
    const response = await fetch("/generate_stream", {
      method: "POST", headers: headers(), signal: controller.signal,
      body: JSON.stringify({ inputs: $("gen-prompt").value, parameters }),
    });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new Error(`${response.status}: ${data.error || response.statusText}`);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      const events = buffer.split("\n\n");
      buffer = events.pop();
      for (const event of events) {
        if (!event.startsWith("data:")) continue;
        const data = JSON.parse(event.slice(5));
        if (data.error) throw new Error(data.error);
        out.textContent += data.token.text;
        state.streamLog.push({ at: performance.now(), length: out.textContent.length });
        if (data.generated_text !== null) out.dataset.done = "true";
      }
    }
  } catch (e) {
    if (e.name !== "AbortError") throw e;
  } finally {
    $("gen-stop").disabled = true;
    controller = null;
  }
});

$("gen-stop").addEventListener("click", () => controller && controller.abort());

// ---- start: which panels this server's task has --------------------------------------------------------------------
async function start() {
  $("api-key").value = localStorage.getItem("mintformers-key") || "";
  $("api-key").addEventListener("change", () => { localStorage.setItem("mintformers-key", $("api-key").value); load(); });
  await load();
}

async function load() {
  const response = await fetch("/info", { headers: headers() });
  if (response.status === 401) {
    $("key-box").hidden = false;
    $("key-box").open = true;
    $("model").textContent = "This server needs an API key.";
    return;
  }
  const info = await response.json();
  state.info = info;
  $("model").textContent = `${info.model_id} · ${info.task}` + (info.family ? ` · ${info.family}, ${info.model_dtype}` : "")
    + (info.status === "ok" ? "" : ` · ${info.status}`);
  for (const section of document.querySelectorAll("section[data-task]")) {
    section.hidden = !section.dataset.task.split(" ").includes(info.task);
  }
  if (info.mask_token) $("mask-text").value = $("mask-text").value.replace("[MASK]", info.mask_token);
  document.body.dataset.ready = info.status;
  if (info.status === "loading") setTimeout(load, 1000); // until the model is ready
}

start().catch((e) => showError(e.message));
