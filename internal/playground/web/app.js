// The xgate playground: plain JavaScript, no dependencies. Everything the
// page shows comes from /api; every change is pushed on /api/events and
// makes the page fetch the current conversation again.
"use strict";

const $ = (sel) => document.querySelector(sel);
const view = { net: "", as: "", conv: "", editing: "", lastTyping: 0 };
let networks = [];
// features returns what the current network's people can do.
const features = () => networks.find((n) => n.id === view.net) || { edits: true, reactions: true, typing: false };
// typingEvery bounds how often typing is shown on the network (Discord
// shows it for ten seconds).
const typingEvery = 5000;
const emoji = { "+1": "👍", "heart": "❤️", "joy": "😂", "thinking_face": "🤔", "sparkles": "✨", "tada": "🎉", "eyes": "👀" };
const quickReactions = ["+1", "heart", "joy"];

async function api(path, body) {
  const init = body === undefined ? {} : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const r = await fetch(path, init);
  if (!r.ok) throw new Error(path + ": " + r.status + " " + (await r.text()));
  return r.json();
}

function fillSelect(sel, items, current) {
  sel.replaceChildren(...items.map((it) => {
    const o = document.createElement("option");
    o.value = it.id;
    o.textContent = it.title ? it.name + " (" + it.title + ")" : it.name;
    return o;
  }));
  if (items.some((it) => it.id === current)) sel.value = current;
  return sel.value;
}

async function loadNetworks() {
  networks = await api("/api/networks");
  view.net = fillSelect($("#network"), networks, view.net);
  await loadPeople();
}

async function loadPeople() {
  const people = await api("/api/" + view.net + "/people");
  view.as = fillSelect($("#person"), people, view.as);
  await loadConversations();
}

async function loadConversations() {
  const convs = await api("/api/" + view.net + "/conversations?as=" + encodeURIComponent(view.as));
  if (!convs.some((c) => c.id === view.conv)) view.conv = convs.length ? convs[0].id : "";
  $("#conversations").replaceChildren(...convs.map((c) => {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = c.name;
    b.dataset.id = c.id;
    if (c.id === view.conv) { b.className = "current"; $("#title").textContent = c.name; }
    b.addEventListener("click", () => { view.conv = c.id; stopEditing(); refresh(); });
    li.append(b);
    return li;
  }));
  await loadMessages();
}

async function loadMessages() {
  if (!view.conv) { $("#messages").replaceChildren(); return; }
  const msgs = await api("/api/" + view.net + "/messages?conv=" + encodeURIComponent(view.conv));
  $("#messages").replaceChildren(...msgs.map(renderMessage));
  await loadTyping();
  document.body.dataset.loaded = String(Number(document.body.dataset.loaded || 0) + 1);
}

// loadTyping shows who else is typing in the conversation; typing shows
// for ten seconds, so it is looked at again then.
let typingTimer = 0;
async function loadTyping() {
  const who = view.conv ? await api("/api/" + view.net + "/typing?conv=" + encodeURIComponent(view.conv)) : [];
  $("#typing").textContent = who.length ? who.join(", ") + " is typing…" : "";
  clearTimeout(typingTimer);
  if (who.length) typingTimer = setTimeout(() => loadTyping().catch(() => {}), 10500);
}

function renderMessage(m) {
  const div = document.createElement("div");
  div.className = "message";
  div.dataset.id = m.id;
  const author = document.createElement("span");
  author.className = "author";
  author.textContent = m.authorName;
  const text = document.createElement("span");
  text.className = "text";
  text.textContent = m.text;
  div.append(author, text);
  if (m.edited) {
    const e = document.createElement("span");
    e.className = "edited";
    e.textContent = "(edited)";
    div.append(e);
  }
  const reactions = document.createElement("div");
  reactions.className = "reactions";
  for (const r of m.reactions || []) {
    const s = document.createElement("span");
    s.dataset.emoji = r.emoji;
    s.textContent = (emoji[r.emoji] || (/^[a-z0-9_+-]+$/.test(r.emoji) ? ":" + r.emoji + ":" : r.emoji)) + " " + r.count;
    reactions.append(s);
  }
  const actions = document.createElement("div");
  actions.className = "actions";
  for (const name of features().reactions ? quickReactions : []) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "react";
    b.dataset.emoji = name;
    b.title = "React :" + name + ":";
    b.textContent = emoji[name];
    b.addEventListener("click", () => act("react", { id: m.id, emoji: name }));
    actions.append(b);
  }
  if (m.author === view.as && features().edits) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = "edit";
    b.textContent = "Edit";
    b.addEventListener("click", () => startEditing(m));
    actions.append(b);
  }
  div.append(reactions, actions);
  return div;
}

function startEditing(m) {
  view.editing = m.id;
  $("#text").value = m.text;
  $("#mode").textContent = "Editing:";
  $("#send").textContent = "Save";
  $("#cancel").hidden = false;
  $("#text").focus();
}

function stopEditing() {
  view.editing = "";
  $("#mode").textContent = "";
  $("#send").textContent = "Send";
  $("#cancel").hidden = true;
}

async function act(kind, body) {
  try {
    await api("/api/" + view.net + "/" + kind, Object.assign({ as: view.as, conv: view.conv }, body));
    $("#status").textContent = "live";
  } catch (e) {
    $("#status").textContent = e.message;
  }
}

async function refresh() {
  try {
    await loadConversations();
  } catch (e) {
    $("#status").textContent = e.message;
  }
}

// clearConversation empties the view of the last person's conversation
// at once, so it is never shown as another's.
function clearConversation() {
  view.conv = "";
  stopEditing();
  $("#messages").replaceChildren();
  $("#typing").textContent = "";
}
$("#network").addEventListener("change", (e) => { view.net = e.target.value; clearConversation(); loadPeople(); });
$("#person").addEventListener("change", (e) => { view.as = e.target.value; clearConversation(); loadConversations(); });
$("#text").addEventListener("input", () => {
  const now = Date.now();
  if (!features().typing || !view.conv || !$("#text").value || now - view.lastTyping < typingEvery) return;
  view.lastTyping = now;
  act("typing", {});
});
$("#cancel").addEventListener("click", () => { stopEditing(); $("#text").value = ""; });
$("#composer").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("#text").value.trim();
  if (!text || !view.conv) return;
  $("#text").value = "";
  if (view.editing) {
    const id = view.editing;
    stopEditing();
    await act("edit", { id, text });
  } else {
    view.lastTyping = 0;
    await act("send", { text });
  }
});

const events = new EventSource("/api/events");
events.addEventListener("open", () => { $("#status").textContent = "live"; refresh(); });
events.addEventListener("error", () => { $("#status").textContent = "reconnecting…"; });
events.addEventListener("change", (e) => { if (e.data === view.net) refresh(); });
loadNetworks().catch((e) => { $("#status").textContent = e.message; });
