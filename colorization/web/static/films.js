// Films on the page: upload one, judge colorized stills with the live controls, colorize it on the server, follow its
// progress (it survives a reload: the job lives on the server), cancel, play it beside the original, download.
// Uses app.js's helpers (temperatureOf, vividnessOf, defaults, errorText, say, the photo card's template and methods).
// Talks only to this server.
"use strict";

const filmsSection = document.getElementById("films");
const filmTemplate = document.getElementById("film-template");
const FILM_NAMES = /\.(mp4|m4v|mov|mkv|webm|avi|mpe?g|m2v|m2ts|mts|ts|vob|ogv|wmv|flv|3gp|dv|gif)$/i;
const POLL_MS = 1000;
const CHANGEABLE = ["ready", "failed", "cancelled"];
const ACTIVE = ["queued", "running"];
let filmUploads = Promise.resolve();

function isFilm(file) {
  return (file.type || "").startsWith("video/") || file.type === "image/gif" || FILM_NAMES.test(file.name || "");
}

function clock(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  const two = (number) => String(number).padStart(2, "0");
  const hours = Math.floor(whole / 3600), minutes = Math.floor((whole % 3600) / 60);
  return hours ? `${hours}:${two(minutes)}:${two(whole % 60)}` : `${minutes}:${two(whole % 60)}`;
}

function span(seconds) {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

class FilmCard {
  constructor(name) {
    this.root = filmTemplate.content.firstElementChild.cloneNode(true);
    const find = (selector) => this.root.querySelector(selector);
    const photoControls = template.content.querySelectorAll(".controls > .control, .controls > .switch");
    find(".controls").prepend(...Array.from(photoControls, (control) => control.cloneNode(true)));
    find(".film-view").append(template.content.querySelector(".status").cloneNode(true));
    for (const key of ["size", "grey", "colour", "status", "stills", "estimate", "progress", "controls", "vividness", "saturation",
      "edges", "start", "cancel", "download"]) this[key] = find(`.${key}`);
    this.statusText = find(".status-text");
    this.barFill = find(".bar-fill");
    this.progressBar = find(".progress-bar");
    this.progressFill = find(".progress-fill");
    this.progressText = find(".progress-text");
    this.errorText = find(".film-error");
    this.originalVideo = find(".original-video");
    this.colourVideo = find(".colour-video");
    find(".name").textContent = name || "film";
    this.id = null;
    this.film = null;
    this.selected = 0;
    this.busy = new Map();
    this.vividness.value = vividnessOf(defaults.temperature);
    this.saturation.value = defaults.saturation;
    this.edges.checked = defaults.upsample === "guided";
    for (const input of [this.vividness, this.saturation, this.edges]) {
      input.addEventListener("input", () => { this.updateLabels(); this.renderStills(); });
    }
    this.start.addEventListener("click", () => this.begin());
    this.cancel.addEventListener("click", () => this.stop());
    find(".remove").addEventListener("click", () => this.remove());
    this.updateLabels();
    filmsSection.prepend(this.root);
  }

  fail(text) {
    this.status.hidden = true;
    this.errorText.textContent = text;
    this.errorText.hidden = false;
  }

  updateLabels() {
    this.root.querySelector(".vividness-value").textContent = this.vividness.value;
    this.root.querySelector(".saturation-value").textContent = `\u00d7${Number(this.saturation.value).toFixed(2)}`;
  }

  upload(file) {
    // XMLHttpRequest, not fetch: it reports upload progress. start=false: stills and the estimate come first.
    return new Promise((resolve) => {
      const form = new FormData();
      form.append("file", file, file.name || "film");
      const request = new XMLHttpRequest();
      request.open("POST", "/api/films?start=false");
      request.responseType = "json";
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) this.setStatus("Uploading\u2026", event.loaded / event.total);
      };
      request.upload.onload = () => this.setStatus("Reading the film\u2026");
      request.onload = () => resolve({ status: request.status, body: request.response });
      request.onerror = () => resolve({ status: 0, body: { error: "the server could not be reached" } });
      this.setStatus("Uploading\u2026", 0);
      request.send(form);
    });
  }

  async add(file) {
    const answer = await this.upload(file);
    if (answer.status !== 201) {
      this.fail((answer.body && answer.body.error) || `the server answered ${answer.status}`);
      return;
    }
    this.show(answer.body);
  }

  show(film) {
    const first = this.film === null;
    this.film = film;
    this.id = film.id;
    this.root.querySelector(".name").textContent = film.name;
    const rate = film.frame_rate ? `${Number(film.frame_rate.toFixed(3))} fps` : "";
    const length = film.duration ? clock(film.duration) : "length unknown";
    this.size.textContent = [`${film.width} \u00d7 ${film.height}`, length, rate, film.sound ? "sound" : "no sound"].join(" \u00b7 ");
    if (first) this.firstShow(film);
    this.root.dataset.state = film.state;
    this.showState(film);
  }

  firstShow(film) {
    if (film.settings && film.settings.temperature) this.vividness.value = vividnessOf(Number(film.settings.temperature));
    if (film.settings && film.settings.saturation !== null && film.settings.saturation !== undefined) this.saturation.value = film.settings.saturation;
    if (film.settings && film.settings.upsample) this.edges.checked = film.settings.upsample === "guided";
    this.updateLabels();
    this.stills.replaceChildren();
    for (const at of film.stills) {
      const when = film.duration < 60 ? `${at.toFixed(1)} s` : clock(at);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "still";
      button.title = `Show the frame at ${when}`;
      const image = document.createElement("img");
      image.alt = `colorized still at ${when}`;
      image.dataset.at = String(at);
      const label = document.createElement("span");
      label.textContent = when;
      button.append(image, label);
      button.addEventListener("click", () => this.select(at));
      this.stills.append(button);
    }
    this.controls.hidden = false;
    this.status.hidden = true;
    this.select(0);  // the film's first frame; the stills below show others
  }

  select(at) {
    this.selected = at;
    this.stills.querySelectorAll(".still").forEach((button) => {
      button.classList.toggle("selected", button.querySelector("img").dataset.at === String(at));
    });
    this.load(this.grey, `/api/films/${this.id}/grey?at=${at}`);
    this.renderStills();
  }

  renderStills() {
    if (!this.id) return;
    const query = new URLSearchParams(this.settings()).toString();
    this.load(this.colour, `/api/films/${this.id}/preview?at=${this.selected}&${query}`);
    this.stills.querySelectorAll("img").forEach((image) => {
      this.load(image, `/api/films/${this.id}/preview?at=${image.dataset.at}&${query}`);
    });
  }

  async load(image, url) {
    // One request in flight per picture; moves made meanwhile collapse into one more with the latest settings.
    const state = this.busy.get(image);
    if (state) { state.next = url; return; }
    this.busy.set(image, { next: url });
    try {
      while (this.busy.get(image).next) {
        const wanted = this.busy.get(image).next;
        this.busy.get(image).next = null;
        const response = await fetch(wanted);
        if (!response.ok) { this.fail(await errorText(response)); continue; }
        const address = URL.createObjectURL(await response.blob());
        await new Promise((done) => { image.onload = done; image.onerror = done; image.src = address; });
        if (image.dataset.shown) URL.revokeObjectURL(image.dataset.shown);
        image.dataset.shown = address;
        image.dataset.rendered = String(Number(image.dataset.rendered || 0) + 1);
      }
    } finally {
      this.busy.delete(image);
    }
  }

  showState(film) {
    const changeable = CHANGEABLE.includes(film.state);
    for (const input of [this.vividness, this.saturation, this.edges]) input.disabled = !changeable;
    this.start.hidden = !changeable;
    this.start.textContent = film.state === "ready" ? "Colorize the film" : "Colorize it again";
    this.cancel.hidden = !ACTIVE.includes(film.state);
    this.progress.hidden = !ACTIVE.includes(film.state);
    this.errorText.textContent = film.state === "failed" ? film.error : (film.problems || []).join("; ") || film.error || "";
    this.errorText.hidden = !this.errorText.textContent;
    this.showEstimate(film);
    this.showProgress(film);
    if (film.state === "done") this.showVideos(film);
    if (ACTIVE.includes(film.state)) this.poll();
  }

  showEstimate(film) {
    if (film.state === "done" && film.fps) {
      this.estimate.textContent = `Colorized: ${film.frames_done} frames in ${span(film.frames_done / film.fps)} (${film.fps} frames per second).`;
    } else if (film.estimate_seconds) {
      this.estimate.textContent = `Colorizing it takes about ${span(film.estimate_seconds)} on this machine (measured on its frames).`;
    } else {
      this.estimate.textContent = "";
    }
  }

  showProgress(film) {
    const total = film.frames_total || 0;
    const fraction = film.state === "done" ? 1 : total ? Math.min(1, film.frames_done / total) : 0;
    this.progressFill.style.width = `${(fraction * 100).toFixed(1)}%`;
    this.progressBar.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
    const left = film.eta_seconds !== null && film.eta_seconds !== undefined ? ` \u00b7 ${clock(film.eta_seconds)} left` : "";
    if (film.state === "queued") {
      const place = film.queue_position === 1 ? "next in line" : `number ${film.queue_position} in line`;
      this.progressText.textContent = `Waiting: ${place} (one film at a time)${left ? ` \u00b7 done in about ${span(film.eta_seconds)}` : ""}`;
    } else if (film.state === "running") {
      const rate = film.fps ? ` \u00b7 ${film.fps.toFixed(1)} fps` : "";
      this.progressText.textContent = `${film.frames_done} / ${total || "?"} frames${rate}${left}`;
    }
  }

  poll() {
    if (this.polling) return;
    this.polling = setTimeout(async () => {
      this.polling = null;
      if (!this.id || !this.root.isConnected) return;
      const response = await fetch(`/api/films/${this.id}`);
      if (response.ok) this.show(await response.json());
      else if (response.status === 404) this.root.remove();
      else this.poll();
    }, POLL_MS);
  }

  showVideos(film) {
    if (this.colourVideo.src) return;
    this.download.href = film.download_url;
    this.download.setAttribute("download", `${film.name}_colorized.mp4`);
    this.download.hidden = false;
    this.colourVideo.src = film.download_url;
    this.colourVideo.hidden = false;
    this.colour.hidden = true;
    this.stills.hidden = true;
    this.originalVideo.addEventListener("loadeddata", () => { this.originalVideo.hidden = false; this.grey.hidden = true; }, { once: true });
    this.originalVideo.src = `/api/films/${this.id}/original`;
    // The original follows the colour player (and stays silent): the two are seen side by side.
    const follow = () => {
      if (this.originalVideo.hidden) return;
      if (Math.abs(this.originalVideo.currentTime - this.colourVideo.currentTime) > 0.1) this.originalVideo.currentTime = this.colourVideo.currentTime;
      if (this.colourVideo.paused) this.originalVideo.pause(); else this.originalVideo.play().catch(() => {});
    };
    for (const name of ["play", "pause", "seeked", "ratechange"]) this.colourVideo.addEventListener(name, follow);
  }

  async begin() {
    this.start.disabled = true;
    try {
      const response = await fetch(`/api/films/${this.id}/start?${new URLSearchParams(this.settings())}`, { method: "POST" });
      if (!response.ok) { this.fail(await errorText(response)); return; }
      this.show(await response.json());
    } finally {
      this.start.disabled = false;
    }
  }

  async stop() {
    this.cancel.disabled = true;
    try {
      const response = await fetch(`/api/films/${this.id}/cancel`, { method: "POST" });
      if (response.ok) this.show(await response.json()); else this.fail(await errorText(response));
    } finally {
      this.cancel.disabled = false;
    }
  }

  async remove() {
    if (this.film && ACTIVE.includes(this.film.state) && !window.confirm("Stop colorizing this film and delete it?")) return;
    if (this.id) {
      const response = await fetch(`/api/films/${this.id}`, { method: "DELETE" });
      if (!response.ok && response.status !== 404) { this.fail(await errorText(response)); return; }
    }
    this.id = null;
    this.root.remove();
  }
}

// The status overlay and the settings of the controls work as on a photo's card (app.js's Card).
for (const name of ["setStatus", "settings"]) FilmCard.prototype[name] = Card.prototype[name];

function addFilm(file) {
  say("");
  const card = new FilmCard(file.name);
  card.setStatus("Waiting to upload\u2026");
  filmUploads = filmUploads.then(() => card.add(file)).catch((error) => card.fail(String(error)));
}

async function loadFilms() {
  // The server's films, including those started before this page was (re)loaded.
  try {
    const response = await fetch("/api/films");
    if (!response.ok) return;
    const listing = await response.json();
    const megabytes = listing.limits.max_bytes / 1048576;
    document.getElementById("film-limit").textContent = megabytes >= 1024 ? `${Number((megabytes / 1024).toFixed(1))} GB` : `${Math.round(megabytes)} MB`;
    for (const film of listing.films.slice().reverse()) new FilmCard(film.name).show(film);
  } catch (error) {
    say("Cannot reach the server: is web_colorize.py still running?");
  }
}

loadFilms();
