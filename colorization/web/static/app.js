// The page: add photos, compare before/after, re-render with the sliders and hints (hints.js), download. Talks only here.
"use strict";

const MIN_TEMPERATURE = 0.1;   // vividness 100
const MAX_TEMPERATURE = 1.0;   // vividness 0: the plain mean, dull and brownish
const photosSection = document.getElementById("photos");
const template = document.getElementById("card-template");
const message = document.getElementById("message");
const zipButton = document.getElementById("zip");
const cards = [];
let defaults = { temperature: 0.3837, saturation: 1, upsample: "guided" };
let uploads = Promise.resolve();

function temperatureOf(vividness) {
  const ratio = vividness / 100;
  return Math.exp(Math.log(MAX_TEMPERATURE) + ratio * (Math.log(MIN_TEMPERATURE) - Math.log(MAX_TEMPERATURE)));
}

function vividnessOf(temperature) {
  const ratio = (Math.log(temperature) - Math.log(MAX_TEMPERATURE)) / (Math.log(MIN_TEMPERATURE) - Math.log(MAX_TEMPERATURE));
  return Math.round(Math.min(1, Math.max(0, ratio)) * 100);
}

function say(text) {
  message.textContent = text;
}

async function errorText(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch (ignored) { /* not JSON */ }
  return `the server answered ${response.status}`;
}

async function loadHealth() {
  try {
    const response = await fetch("/api/health");
    if (!response.ok) { say(await errorText(response)); return; }
    const health = await response.json();
    if (health.defaults) defaults = health.defaults;
    document.getElementById("limit").textContent = `${Math.round(health.max_upload_bytes / 1048576)} MB`;
    if (!health.model_loaded) {
      const problem = health.problem || "the model files are missing";
      document.getElementById("problem-text").textContent = problem;
      const command = /run (python [^()]+?)(?: \(|$)/.exec(problem);
      document.getElementById("problem-command").textContent = command ? command[1].trim() : "python fetch_models.py";
      document.getElementById("problem").hidden = false;
      document.getElementById("drop").classList.add("disabled");
    }
  } catch (error) {
    say("Cannot reach the server: is web_colorize.py still running?");
  }
}

class Card {
  constructor(file) {
    this.file = file;
    this.id = null;
    this.rendering = false;
    this.pending = false;
    this.shown = null;
    this.root = template.content.firstElementChild.cloneNode(true);
    const find = (selector) => this.root.querySelector(selector);
    this.compare = find(".compare");
    this.after = find(".after");
    this.before = find(".before");
    this.divider = find(".divider");
    this.status = find(".status");
    this.statusText = find(".status-text");
    this.barFill = find(".bar-fill");
    this.controls = find(".controls");
    this.vividness = find(".vividness");
    this.saturation = find(".saturation");
    this.edges = find(".edges");
    this.flipButton = find(".flip");
    this.jpeg = find(".jpeg");
    this.png = find(".png");
    find(".name").textContent = file.name || "pasted photo";
    find(".name").title = file.name || "";
    this.size = find(".size");
    find(".remove").addEventListener("click", () => this.remove());
    find(".reset").addEventListener("click", () => { this.applyDefaults(); this.hintEditor.clear(); this.updateLabels(); this.render(); });
    this.hintEditor = new HintEditor(this);
    this.applyDefaults();
    this.setPosition(50);
    this.showLocalGrey();
    this.wireControls();
  }

  applyDefaults() {
    this.vividness.value = vividnessOf(defaults.temperature);
    this.saturation.value = defaults.saturation;
    this.edges.checked = defaults.upsample === "guided";
    this.updateLabels();
  }

  showLocalGrey() {
    // Shown at once while the server works: the picture as the browser decodes it, in grey.
    this.localUrl = URL.createObjectURL(this.file);
    this.after.classList.add("local");
    this.after.src = this.localUrl;
    this.after.onerror = () => { this.after.classList.add("unshowable"); };
  }

  setStatus(text, fraction) {
    this.status.hidden = false;
    this.statusText.textContent = text;
    this.barFill.style.width = fraction === undefined ? "" : `${Math.round(fraction * 100)}%`;
    this.status.classList.toggle("indeterminate", fraction === undefined);
  }

  fail(text) {
    this.root.classList.add("failed");
    this.status.hidden = false;
    this.status.classList.remove("indeterminate");
    this.status.classList.add("error");
    this.statusText.textContent = text;
  }

  settings() {
    return {
      temperature: temperatureOf(Number(this.vividness.value)).toFixed(4),
      saturation: Number(this.saturation.value).toFixed(2),
      upsample: this.edges.checked ? "guided" : "bilinear",
    };
  }

  query(extra) {
    return new URLSearchParams({ ...this.settings(), ...this.hintEditor.parameter(), ...(extra || {}) }).toString();
  }

  updateLabels() {
    this.root.querySelector(".vividness-value").textContent = this.vividness.value;
    this.root.querySelector(".saturation-value").textContent = `\u00d7${Number(this.saturation.value).toFixed(2)}`;
    if (this.id) {
      this.jpeg.href = `/api/photos/${this.id}/download?${this.query({ format: "jpeg" })}`;
      this.png.href = `/api/photos/${this.id}/download?${this.query({ format: "png" })}`;
    }
  }

  wireControls() {
    for (const input of [this.vividness, this.saturation, this.edges]) {
      input.addEventListener("input", () => { this.updateLabels(); this.render(); });
    }
    this.flipButton.addEventListener("click", () => this.setPosition(this.position > 0 ? 0 : 100));
    this.wireCompare();
    this.divider.addEventListener("keydown", (event) => {
      const step = event.shiftKey ? 10 : 2;
      if (event.key === "ArrowLeft") this.setPosition(this.position - step);
      else if (event.key === "ArrowRight") this.setPosition(this.position + step);
      else return;
      event.preventDefault();
    });
  }

  wireCompare() {
    // The divider moves when it, or the photo, is dragged; a click without a drag places a colour hint on the colour
    // side (right of the divider) and moves the divider on the other. Hint dots and their palette handle their own.
    let press = null;
    const move = (event) => {
      const box = this.compare.getBoundingClientRect();
      this.setPosition(((event.clientX - box.left) / box.width) * 100);
    };
    this.compare.addEventListener("pointerdown", (event) => {
      if (!this.id || event.button > 0 || event.target.closest(".hint-dot, .hint-picker")) return;
      if (this.hintEditor.isOpen()) { this.hintEditor.close(); return; }
      press = { x: event.clientX, y: event.clientY, dragging: Boolean(event.target.closest(".divider")) };
      this.compare.setPointerCapture(event.pointerId);
      if (press.dragging) move(event);
      event.preventDefault();
    });
    this.compare.addEventListener("pointermove", (event) => {
      if (!press) return;
      if (!press.dragging && Math.hypot(event.clientX - press.x, event.clientY - press.y) >= DRAG_THRESHOLD) press.dragging = true;
      if (press.dragging) move(event);
    });
    this.compare.addEventListener("pointerup", (event) => {
      const clicked = press && !press.dragging;
      press = null;
      if (!clicked) return;
      const box = this.compare.getBoundingClientRect();
      const divider = box.left + (box.width * this.position) / 100;
      if (event.clientX > divider) this.hintEditor.addAt(event.clientX, event.clientY);
      else move(event);
    });
    this.compare.addEventListener("pointercancel", () => { press = null; });
  }

  setPosition(percent) {
    this.position = Math.min(100, Math.max(0, percent));
    this.compare.style.setProperty("--position", `${this.position}%`);
    this.divider.setAttribute("aria-valuenow", String(Math.round(this.position)));
    this.flipButton.textContent = this.position > 0 ? "Show colour" : "Show original";
  }

  upload() {
    // XMLHttpRequest, not fetch: it reports upload progress.
    return new Promise((resolve) => {
      const form = new FormData();
      form.append("file", this.file, this.file.name || "pasted.png");
      const request = new XMLHttpRequest();
      request.open("POST", "/api/photos");
      request.responseType = "json";
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) this.setStatus("Uploading\u2026", event.loaded / event.total);
      };
      request.upload.onload = () => this.setStatus("Colorizing\u2026");
      request.onload = () => resolve({ status: request.status, body: request.response, retryAfter: request.getResponseHeader("Retry-After") });
      request.onerror = () => resolve({ status: 0, body: { error: "the server could not be reached" } });
      this.setStatus("Uploading\u2026", 0);
      request.send(form);
    });
  }

  async colorize() {
    for (;;) {
      const answer = await this.upload();
      if (answer.status === 503 && answer.retryAfter) {
        this.setStatus("The server is busy: waiting\u2026");
        await new Promise((done) => setTimeout(done, Number(answer.retryAfter) * 1000));
        continue;
      }
      if (answer.status === 415) { this.remove(); addFilm(this.file); return; }  // not a picture: perhaps a film
      if (answer.status !== 200) {
        this.fail((answer.body && answer.body.error) || `the server answered ${answer.status}`);
        return;
      }
      this.id = answer.body.id;
      ({ width: this.width, height: this.height } = answer.body);
      this.size.textContent = `${answer.body.width} \u00d7 ${answer.body.height}`;
      break;
    }
    this.setStatus("Colorizing\u2026");
    await this.loadGrey();
    await this.render();
    this.updateLabels();
    this.controls.hidden = false;
    this.divider.hidden = false;
    this.root.querySelectorAll(".tag").forEach((tag) => { tag.hidden = false; });
    this.root.classList.add("ready");
    this.hintEditor.place();
    zipButton.hidden = false;
  }

  async loadGrey() {
    const response = await fetch(`/api/photos/${this.id}/grey`);
    if (response.ok) {
      this.before.src = URL.createObjectURL(await response.blob());
      this.before.hidden = false;
    }
  }

  async render() {
    // One preview in flight per photo; moves made meanwhile collapse into one more render with the latest values.
    if (!this.id) return;
    if (this.rendering) { this.pending = true; return; }
    this.rendering = true;
    try {
      do {
        this.pending = false;
        const response = await fetch(`/api/photos/${this.id}/preview?${this.query()}`);
        if (response.status === 410) { this.id = null; this.rendering = false; await this.colorize(); return; }
        if (!response.ok) { say(await errorText(response)); continue; }
        const url = URL.createObjectURL(await response.blob());
        await new Promise((done) => { this.after.onload = done; this.after.onerror = done; this.after.src = url; });
        this.after.classList.remove("local", "unshowable");
        if (this.shown) URL.revokeObjectURL(this.shown);
        this.shown = url;
        this.after.dataset.rendered = String(Number(this.after.dataset.rendered || 0) + 1);
        this.status.hidden = true;
      } while (this.pending);
    } finally {
      this.rendering = false;
    }
  }

  remove() {
    this.root.remove();
    cards.splice(cards.indexOf(this), 1);
    if (!cards.some((card) => card.id)) zipButton.hidden = true;
  }
}

function addFiles(files) {
  const films = Array.from(files).filter(isFilm);  // films.js takes those
  films.forEach(addFilm);
  const pictures = Array.from(files).filter((file) => !films.includes(file) && (!file.type || file.type.startsWith("image/") || /\.(tiff?|pnm|pgm|ppm)$/i.test(file.name)));
  if (!pictures.length) { if (!films.length) say("That is not a picture or a film: add JPEG, PNG, WebP or TIFF photos, or MP4, MOV, MKV, AVI, WebM films."); return; }
  say("");
  const anchor = photosSection.firstChild;  // a new batch goes on top, in the order it was given
  for (const file of pictures) {
    const card = new Card(file);
    photosSection.insertBefore(card.root, anchor);
    cards.push(card);
    // The server runs one photo at a time: uploading them in turn keeps each one's progress honest.
    uploads = uploads.then(() => card.colorize()).catch((error) => card.fail(String(error)));
  }
}

async function downloadZip() {
  const ready = cards.filter((card) => card.id);
  if (!ready.length) return;
  zipButton.disabled = true;
  say(`Preparing ${ready.length} full-size photo${ready.length > 1 ? "s" : ""}\u2026`);
  try {
    const response = await fetch("/api/zip", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ format: "jpeg", photos: ready.map((card) => ({ id: card.id, ...card.settings(), hints: card.hintEditor.list() })) }),
    });
    if (!response.ok) { say(await errorText(response)); return; }
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = "colorized_photos.zip";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60000);
    say("");
  } finally {
    zipButton.disabled = false;
  }
}

function wirePage() {
  const drop = document.getElementById("drop");
  const picker = document.getElementById("picker");
  picker.addEventListener("change", () => { addFiles(picker.files); picker.value = ""; });
  for (const name of ["dragenter", "dragover"]) {
    document.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  document.addEventListener("dragleave", (event) => { if (!event.relatedTarget) drop.classList.remove("over"); });
  document.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) addFiles(event.dataTransfer.files);
  });
  document.addEventListener("paste", (event) => {
    const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    if (files.length) { event.preventDefault(); addFiles(files); }
  });
  zipButton.addEventListener("click", downloadZip);
}

wirePage();
loadHealth();
