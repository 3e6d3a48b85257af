// The simulator page: phones side by side, texts sent through the line's webhook, the log read by short polling.
"use strict";
(function () {
  const config = JSON.parse(document.getElementById("sim-config").textContent);
  const phonesEl = document.getElementById("phones");
  const template = document.getElementById("phone-template");
  const statusEl = document.getElementById("status");
  const addForm = document.getElementById("add-phone");
  const addError = document.getElementById("add-error");
  const gatewayChoice = document.getElementById("gateway");
  const STORE = "smsline-simulator-phones";
  const POLL_MS = 1000;

  const phones = new Map(); // number -> {section, thread, input}
  const shown = new Set(); // sids already on the page
  let next = 0;
  let lastSid = "";
  let counter = 0;
  let polling = false;
  let pollAgain = false;
  let timer = null;

  const timeFormat = makeTimeFormat(config.timezone);

  function makeTimeFormat(zone) {
    const options = { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" };
    try {
      return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone }, options));
    } catch (e) {
      return new Intl.DateTimeFormat("en-GB", options);
    }
  }

  function setStatus(text) {
    if (statusEl.textContent !== text) statusEl.textContent = text;
  }

  function lastFour(number) {
    return number.replace(/\D/g, "").slice(-4);
  }

  function savedPhones() {
    try {
      const list = JSON.parse(localStorage.getItem(STORE) || "[]");
      return Array.isArray(list) ? list.filter((p) => p && typeof p.number === "string") : [];
    } catch (e) {
      return [];
    }
  }

  function savePhones() {
    const extra = [];
    for (const [number, phone] of phones) {
      if (phone.removable) extra.push({ number: number, name: phone.name });
    }
    try {
      localStorage.setItem(STORE, JSON.stringify(extra));
    } catch (e) {
      // Private windows may refuse storage: added phones then last until reload.
    }
  }

  function addPhone(number, name, options) {
    options = options || {};
    if (phones.has(number)) return phones.get(number);
    counter += 1;
    const section = template.content.firstElementChild.cloneNode(true);
    const title = section.querySelector(".name");
    const label = section.querySelector("label");
    const input = section.querySelector("input");
    const thread = section.querySelector(".thread");
    const remove = section.querySelector(".remove");
    const note = section.querySelector(".send-note");
    section.dataset.number = number;
    title.id = "phone-" + counter;
    title.textContent = name;
    section.setAttribute("aria-labelledby", title.id);
    section.querySelector(".number").textContent = number;
    input.id = "text-" + counter;
    label.htmlFor = input.id;
    label.textContent = "Text from " + name;
    if (options.hint) input.placeholder = "e.g. " + options.hint;
    thread.setAttribute("aria-label", "Texts of " + name);
    const phone = { section: section, thread: thread, input: input, note: note, name: name,
      removable: !!options.removable };
    input.addEventListener("input", () => { note.textContent = ""; });
    if (phone.removable) {
      remove.hidden = false;
      remove.setAttribute("aria-label", "Remove " + name);
      remove.addEventListener("click", () => {
        section.remove();
        phones.delete(number);
        savePhones();
        document.getElementById("new-number").focus();
      });
    }
    section.querySelector("form").addEventListener("submit", (event) => {
      event.preventDefault();
      send(number, phone);
    });
    phonesEl.appendChild(section);
    phones.set(number, phone);
    if (phone.removable) savePhones();
    return phone;
  }

  function show(entry) {
    if (entry.sid && shown.has(entry.sid)) return;
    if (entry.sid) shown.add(entry.sid);
    const phone = phones.get(entry.number) ||
      addPhone(entry.number, "Phone \u2026" + lastFour(entry.number), { removable: true });
    const thread = phone.thread;
    const atBottom = thread.scrollHeight - thread.scrollTop - thread.clientHeight < 40;
    const item = document.createElement("li");
    const sent = entry.dir === "in";
    item.className = sent ? "sent" : "received";
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = sent ? "Sent: " : "Received: ";
    const body = document.createElement("p");
    body.textContent = entry.body;
    body.prepend(who);
    const when = document.createElement("time");
    const date = new Date((entry.at || 0) * 1000);
    when.dateTime = date.toISOString();
    // Which of the line's numbers the text went to or came from, when it is the phone's.
    when.textContent = timeFormat.format(date) + (entry.via === "android" ? " \u00b7 phone" : "");
    item.append(body, when);
    thread.appendChild(item);
    if (atBottom) thread.scrollTop = thread.scrollHeight;
  }

  async function poll() {
    if (polling) {
      pollAgain = true;
      return;
    }
    polling = true;
    clearTimeout(timer);
    try {
      const url = config.urls.log + "?after=" + next + "&last=" + encodeURIComponent(lastSid);
      const response = await fetch(url, { cache: "no-store" });
      if (!response.ok) throw new Error(response.status);
      const data = await response.json();
      data.entries.forEach(show);
      if (data.entries.length) lastSid = data.entries[data.entries.length - 1].sid || "";
      next = data.next;
      setStatus("");
    } catch (e) {
      setStatus("Cannot reach the line just now; trying again.");
    } finally {
      polling = false;
      if (pollAgain) {
        pollAgain = false;
        poll();
      } else {
        timer = setTimeout(poll, document.hidden ? POLL_MS * 5 : POLL_MS);
      }
    }
  }

  async function send(number, phone) {
    // Problems with a send are said under that phone, where the eye is; the page's status line is
    // for the connection and is cleared by every poll.
    const input = phone.input;
    const body = input.value;
    if (!body.trim()) {
      phone.note.textContent = "Nothing sent: the text is empty. Type a text, e.g. HELP, then Send.";
      input.focus();
      return;
    }
    phone.note.textContent = "";
    input.value = "";
    try {
      const response = await fetch(config.urls.send, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ from: number, body: body, gateway: gatewayChoice ? gatewayChoice.value : "twilio" }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.error || "the line answered " + response.status);
    } catch (e) {
      if (!input.value) input.value = body;
      phone.note.textContent = "Not sent: " + e.message;
    }
    poll();
  }

  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    addError.textContent = "";
    const raw = addForm.elements.number.value;
    try {
      const response = await fetch(config.urls.phones, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ number: raw }),
      });
      const data = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(data.error || "the line answered " + response.status);
      const name = addForm.elements.name.value.trim() || "Phone \u2026" + lastFour(data.number);
      const phone = addPhone(data.number, name, { removable: true });
      addForm.reset();
      phone.input.focus();
    } catch (e) {
      addError.textContent = e.message;
    }
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll();
  });

  config.phones.forEach((p) => addPhone(p.number, p.name, { hint: p.hint }));
  savedPhones().forEach((p) => addPhone(p.number, p.name || "Phone \u2026" + lastFour(p.number), { removable: true }));
  poll();
})();
