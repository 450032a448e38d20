// Colour hints on a photo's card: a click on the colour side opens a palette, the region takes the colour; hints are
// dots that can be dragged, recoloured or removed. Positions are whole pixels of the upright photo, as the API takes them.
"use strict";

const PALETTE = [
  ["Light skin", "#e8b896"], ["Medium skin", "#c68a5e"], ["Dark skin", "#8a5a3c"], ["Sky", "#87ceeb"],
  ["Water", "#3f7fa6"], ["Foliage", "#4f7a3a"], ["Grass", "#86a845"], ["Brick", "#a4452c"], ["Wood", "#8b5a2b"],
  ["Khaki", "#c3b091"], ["Navy", "#27345e"], ["Red", "#b22222"], ["Gold", "#d4a73a"], ["No colour (white, grey, black)", "#808080"],
];
const MAX_PAGE_HINTS = 100;  // each re-render's address carries them; the API takes up to 1000
const DRAG_THRESHOLD = 5;    // pixels of pointer movement below which a press is a click

class HintEditor {
  constructor(card) {
    this.card = card;
    this.hints = [];        // {x, y, colour, dot}; colour null while the palette of a new hint is open
    this.editing = null;
    const find = (selector) => card.root.querySelector(selector);
    this.layer = find(".hint-layer");
    this.picker = find(".hint-picker");
    this.freeColour = find(".free-colour");
    this.note = find(".hint-note");
    this.swatches = PALETTE.map(([name, colour]) => this.swatch(name, colour));
    find(".swatches").append(...this.swatches);
    find(".remove-hint").addEventListener("click", () => { this.remove(this.editing); find(".add-hint").focus(); });
    find(".add-hint").addEventListener("click", () => this.add(Math.floor(card.width / 2), Math.floor(card.height / 2)));
    this.freeColour.addEventListener("input", () => this.choose(this.freeColour.value, true));
    this.freeColour.addEventListener("change", () => this.close());
    this.picker.addEventListener("keydown", (event) => { if (event.key === "Escape") { event.preventDefault(); this.close(); } });
    document.addEventListener("pointerdown", (event) => {
      if (this.editing && !this.picker.contains(event.target) && event.target !== this.editing.dot) this.close();
    });
    new ResizeObserver(() => this.place()).observe(card.compare);
    card.after.addEventListener("load", () => this.place());
    this.describe();
  }

  swatch(name, colour) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "swatch";
    button.title = `${name} (${colour})`;
    button.setAttribute("aria-label", name);
    button.dataset.colour = colour;
    button.style.setProperty("--swatch", colour);
    button.addEventListener("click", () => this.choose(colour, false));
    return button;
  }

  list() {
    return this.hints.filter((hint) => hint.colour).map(({ x, y, colour }) => ({ x, y, colour }));
  }

  parameter() {
    const hints = this.list();
    return hints.length ? { hints: JSON.stringify(hints) } : {};
  }

  contentBox() {
    // Where the photo is drawn inside the after image's box (object-fit: contain may leave bars beside it).
    const box = this.card.after.getBoundingClientRect();
    const scale = Math.min(box.width / this.card.width, box.height / this.card.height);
    const width = this.card.width * scale, height = this.card.height * scale;
    return { left: box.left + (box.width - width) / 2, top: box.top + (box.height - height) / 2, width, height };
  }

  photoPoint(clientX, clientY) {
    // Whole pixels of the photo, never a fraction: the server reads 0.5 as half the photo.
    const box = this.contentBox();
    const x = Math.floor(((clientX - box.left) / box.width) * this.card.width);
    const y = Math.floor(((clientY - box.top) / box.height) * this.card.height);
    return { x: Math.min(this.card.width - 1, Math.max(0, x)), y: Math.min(this.card.height - 1, Math.max(0, y)) };
  }

  isOnPhoto(clientX, clientY) {
    const box = this.contentBox();
    return clientX >= box.left && clientX < box.left + box.width && clientY >= box.top && clientY < box.top + box.height;
  }

  place() {
    if (!this.card.width) return;
    const outer = this.card.compare.getBoundingClientRect();
    const box = this.contentBox();
    Object.assign(this.layer.style, {
      left: `${box.left - outer.left}px`, top: `${box.top - outer.top}px`, width: `${box.width}px`, height: `${box.height}px`,
    });
    this.hints.forEach((hint) => this.show(hint));
  }

  show(hint) {
    const dot = hint.dot;
    dot.style.left = `${((hint.x + 0.5) / this.card.width) * 100}%`;
    dot.style.top = `${((hint.y + 0.5) / this.card.height) * 100}%`;
    dot.style.setProperty("--colour", hint.colour || "transparent");
    dot.classList.toggle("pending", !hint.colour);
    dot.dataset.x = String(hint.x);
    dot.dataset.y = String(hint.y);
    const colour = hint.colour ? `${PALETTE.find(([, value]) => value === hint.colour)?.[0] || hint.colour}` : "no colour yet";
    dot.setAttribute("aria-label", `Colour hint at ${hint.x}, ${hint.y}: ${colour}. Enter changes it, arrows move it, Delete removes it`);
  }

  addAt(clientX, clientY) {
    if (!this.isOnPhoto(clientX, clientY)) return;
    const { x, y } = this.photoPoint(clientX, clientY);
    this.add(x, y);
  }

  add(x, y) {
    if (this.hints.length >= MAX_PAGE_HINTS) {
      say(`A photo takes at most ${MAX_PAGE_HINTS} hints here: drag or recolour one instead.`);
      return;
    }
    const hint = { x, y, colour: null, dot: this.dot() };
    hint.dot.hint = hint;
    this.hints.push(hint);
    this.layer.append(hint.dot);
    this.place();
    this.open(hint);
  }

  dot() {
    const dot = document.createElement("button");
    dot.type = "button";
    dot.className = "hint-dot";
    let press = null;
    dot.addEventListener("pointerdown", (event) => {
      event.stopPropagation();
      press = { x: event.clientX, y: event.clientY, moved: false };
      dot.dragged = false;
      dot.setPointerCapture(event.pointerId);
    });
    dot.addEventListener("pointermove", (event) => {
      if (!press) return;
      if (!press.moved && Math.hypot(event.clientX - press.x, event.clientY - press.y) < DRAG_THRESHOLD) return;
      press.moved = true;
      this.moveTo(dot.hint, this.photoPoint(event.clientX, event.clientY));
    });
    dot.addEventListener("pointerup", () => { dot.dragged = press && press.moved; press = null; });
    dot.addEventListener("pointercancel", () => { press = null; });
    dot.addEventListener("click", () => {
      if (dot.dragged) { dot.dragged = false; return; }  // the end of a drag, not a click
      this.open(dot.hint);
    });
    dot.addEventListener("keydown", (event) => this.key(dot.hint, event));
    return dot;
  }

  key(hint, event) {
    const step = Math.max(1, Math.round(Math.max(this.card.width, this.card.height) / 100)) * (event.shiftKey ? 10 : 1);
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key === "Delete" || event.key === "Backspace") {
      const next = this.hints[this.hints.indexOf(hint) + 1] || this.hints[this.hints.indexOf(hint) - 1];
      this.remove(hint);
      if (next) next.dot.focus();
    } else if (moves[event.key]) {
      const [dx, dy] = moves[event.key];
      const x = Math.min(this.card.width - 1, Math.max(0, hint.x + dx));
      const y = Math.min(this.card.height - 1, Math.max(0, hint.y + dy));
      this.moveTo(hint, { x, y });
    } else {
      return;
    }
    event.preventDefault();
  }

  moveTo(hint, { x, y }) {
    if (hint.x === x && hint.y === y) return;
    hint.x = x;
    hint.y = y;
    this.show(hint);
    if (hint.colour) this.changed();
  }

  open(hint) {
    if (this.editing && this.editing !== hint) this.close();
    this.editing = hint;
    this.picker.hidden = false;
    this.swatches.forEach((button) => button.setAttribute("aria-pressed", String(button.dataset.colour === hint.colour)));
    this.freeColour.value = hint.colour || "#808080";
    this.picker.querySelector(".remove-hint").hidden = !hint.colour;
    this.placePicker(hint);
    (this.swatches.find((button) => button.dataset.colour === hint.colour) || this.swatches[0]).focus();
  }

  placePicker(hint) {
    // Beside the dot, inside the photo's frame: below it when there is room, else above.
    const outer = this.card.compare.getBoundingClientRect();
    const spot = hint.dot.getBoundingClientRect();
    const width = this.picker.offsetWidth, height = this.picker.offsetHeight;
    const x = spot.left + spot.width / 2 - outer.left, y = spot.top + spot.height / 2 - outer.top;
    const below = y + 18 + height <= outer.height - 6;
    this.picker.style.left = `${Math.max(6, Math.min(outer.width - width - 6, x - width / 2))}px`;
    this.picker.style.top = `${Math.max(6, below ? y + 18 : y - 18 - height)}px`;
  }

  isOpen() {
    return this.editing !== null;
  }

  close() {
    const hint = this.editing;
    if (!hint) return;
    this.editing = null;
    this.picker.hidden = true;
    if (!hint.colour) this.drop(hint);  // placed, but no colour was picked
    else hint.dot.focus();
  }

  choose(colour, keepOpen) {
    const hint = this.editing;
    if (!hint) return;
    hint.colour = colour.toLowerCase();
    this.show(hint);
    this.changed();
    if (!keepOpen) this.close();
  }

  remove(hint) {
    if (!hint) return;
    if (this.editing === hint) { this.editing = null; this.picker.hidden = true; }
    const counted = Boolean(hint.colour);
    this.drop(hint);
    if (counted) this.changed();
  }

  drop(hint) {
    hint.dot.remove();
    this.hints.splice(this.hints.indexOf(hint), 1);
    this.describe();
  }

  clear() {
    this.editing = null;
    this.picker.hidden = true;
    this.hints.forEach((hint) => hint.dot.remove());
    this.hints = [];
    this.describe();
  }

  changed() {
    this.describe();
    this.card.updateLabels();
    this.card.render();
  }

  describe() {
    const count = this.list().length;
    this.note.textContent = count
      ? `${count} colour hint${count > 1 ? "s" : ""}: drag a dot to move it, click it to change or remove it; downloads carry them.`
      : "Know a colour? Click that spot on the colour side and pick it: the region takes it, up to its edges.";
  }
}
