// The playground page: polls the emulator's state, renders Block Kit, sends what the user does.
"use strict";

const EMOJI = {
  white_check_mark: "✅", large_orange_circle: "🟠", red_circle: "🔴", white_circle: "⚪",
  large_green_circle: "🟢", heavy_minus_sign: "➖", hourglass_flowing_sand: "⏳", x: "❌",
  warning: "⚠️", key: "🔑", lock: "🔒", no_entry: "⛔", no_entry_sign: "🚫", sos: "🆘",
  repeat: "🔁", arrows_counterclockwise: "🔄", information_source: "ℹ️", bangbang: "‼️",
  exclamation: "❗", grey_question: "❔", calendar: "📅", wastebasket: "🗑️", wave: "👋",
  new: "🆕", mag: "🔍", clock1: "🕐", stopwatch: "⏱️", tada: "🎉",
  hourglass: "⌛", gear: "⚙️", cloud: "☁️", bell: "🔔", page_facing_up: "📄",
  black_square_for_stop: "⏹️", arrow_forward: "▶️", busts_in_silhouette: "👥",
  heavy_check_mark: "✔️", large_blue_circle: "🔵", point_right: "👉", memo: "📝",
};

let state = null;
let user = localStorage.getItem("playground-user") || "U0OPERATOR";
let channel = "C0PLAYGRND";
let tab = "channel";
let renderedVersion = -1;
let renderedModal = "";

const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
};

async function api(path, body) {
  const response = await fetch("/play/" + path, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify(Object.assign({ user }, body)),
  });
  const answer = await response.json();
  if (!answer.ok && answer.error) showNotice(answer.error);
  poll();
  return answer;
}

function showNotice(text) {
  const note = el("div", "msg ephemeral");
  note.append(el("div", "avatar", "!"), el("div", "", text));
  $("messages").append(note);
}

// -- mrkdwn -------------------------------------------------------------------------------
function escapeHtml(text) {
  return text.replace(/&(?!(amp|lt|gt);)/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

function formatDate(seconds, format, fallback) {
  const date = new Date(Number(seconds) * 1000);
  if (isNaN(date)) return fallback;
  const day = date.toLocaleDateString("en-GB", { year: "numeric", month: "short", day: "numeric" });
  const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });
  return format.replace(/\{date_short_pretty\}|\{date_short\}|\{date_long\}|\{date_pretty\}|\{date\}/g, day)
    .replace(/\{time_secs\}|\{time\}/g, time).replace(/\{date_num\}/g, date.toISOString().slice(0, 10))
    .replace(/\{ago\}/g, day + " " + time);
}

function linkToken(inner) {
  const [target, label] = inner.split("|");
  if (target.startsWith("@")) return `<span class="mention">@${escapeHtml(label || userName(target.slice(1)))}</span>`;
  if (target.startsWith("#")) return `<span class="mention">#${escapeHtml(label || channelName(target.slice(1)))}</span>`;
  if (target.startsWith("!subteam^")) return `<span class="mention">@${escapeHtml(label || "group")}</span>`;
  if (target.startsWith("!date^")) {
    const parts = target.split("^");
    return escapeHtml(formatDate(parts[1], parts[2] || "{date}", label || ""));
  }
  if (target.startsWith("!")) return `<span class="mention">@${escapeHtml(target.slice(1))}</span>`;
  return `<a href="${escapeHtml(target)}" target="_blank" rel="noopener">${escapeHtml(label || target)}</a>`;
}

function mrkdwn(text) {
  const slots = [];
  const keep = (html) => { slots.push(html); return `\u0000${slots.length - 1}\u0000`; };
  let out = text.replace(/```([\s\S]*?)```/g, (_, code) => keep(`<pre>${escapeHtml(code)}</pre>`));
  out = out.replace(/`([^`\n]+)`/g, (_, code) => keep(`<code>${escapeHtml(code)}</code>`));
  out = out.replace(/<([^<>\n]+)>/g, (_, inner) => keep(linkToken(inner)));
  out = escapeHtml(out);
  out = out.replace(/(^|[\s(])\*([^*\n]+)\*/g, "$1<b>$2</b>")
    .replace(/(^|[\s(])_([^_\n]+)_/g, "$1<i>$2</i>")
    .replace(/(^|[\s(])~([^~\n]+)~/g, "$1<s>$2</s>")
    .replace(/^&gt; ?(.*)$/gm, "<blockquote>$1</blockquote>")
    .replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole)
    .replace(/\n/g, "<br>");
  return out.replace(/\u0000(\d+)\u0000/g, (_, i) => slots[Number(i)]);
}

function userName(id) {
  const known = state && state.users.find((u) => u.id === id);
  return known ? known.name : id;
}
function channelName(id) {
  const known = state && state.channels.find((c) => c.id === id);
  return known ? known.name : id;
}

function textNode(obj, cls) {
  const node = el("div", (cls || "") + " mrkdwn");
  if (!obj) return node;
  if (obj.type === "mrkdwn") node.innerHTML = mrkdwn(obj.text);
  else node.innerHTML = escapeHtml(obj.text).replace(/:([a-z0-9_+-]+):/g, (w, n) => (obj.emoji === false ? w : EMOJI[n] || w));
  return node;
}
const plain = (obj) => (obj ? obj.text.replace(/:([a-z0-9_+-]+):/g, (w, n) => EMOJI[n] || w) : "");

function unknown(type) {
  const node = el("span", "bk-unknown", `Unsupported Block Kit element: ${type}`);
  node.dataset.unknown = type;
  return node;
}

// -- elements -------------------------------------------------------------------------------
function confirmThen(confirm, run) {
  if (!confirm) return run();
  const box = $("confirm");
  box.replaceChildren(el("h3", "", plain(confirm.title)), textNode(confirm.text));
  const row = el("div", "row");
  const cancel = el("button", "bk-button", plain(confirm.deny) || "Cancel");
  const ok = el("button", "bk-button " + (confirm.style === "danger" ? "danger" : "primary"), plain(confirm.confirm) || "Yes");
  cancel.onclick = () => { $("confirm-backdrop").hidden = true; };
  ok.onclick = () => { $("confirm-backdrop").hidden = true; run(); };
  row.append(cancel, ok);
  box.append(row);
  $("confirm-backdrop").hidden = false;
}

function act(ctx, blockId, action) {
  const body = { action: Object.assign({ block_id: blockId }, action) };
  if (ctx.viewId) { body.view_id = ctx.viewId; body.values = collectValues(ctx.root); }
  else { body.channel = ctx.channel; body.ts = ctx.ts; }
  return api("action", body);
}

function optionOf(opt) { return { text: opt.text, value: opt.value }; }

function renderElement(element, ctx, blockId) {
  switch (element.type) {
    case "button": {
      const button = el("button", "bk-button" + (element.style ? " " + element.style : ""), plain(element.text));
      button.dataset.actionId = element.action_id;
      button.onclick = () => {
        if (element.url) window.open(element.url, "_blank");
        confirmThen(element.confirm, () => act(ctx, blockId, {
          type: "button", action_id: element.action_id, value: element.value, text: element.text,
          style: element.style,
        }));
      };
      return button;
    }
    case "overflow": {
      const wrap = el("span", "bk-overflow");
      const button = el("button", "bk-button", "⋯");
      button.setAttribute("aria-label", "More actions");
      button.dataset.actionId = element.action_id;
      const menu = el("div", "bk-overflow-menu");
      menu.hidden = true;
      for (const opt of element.options) {
        const item = el("button", "", plain(opt.text));
        item.setAttribute("role", "menuitem");
        item.onclick = () => {
          menu.hidden = true;
          confirmThen(element.confirm, () => act(ctx, blockId, {
            type: "overflow", action_id: element.action_id, selected_option: optionOf(opt),
          }));
        };
        menu.append(item);
      }
      button.onclick = () => { menu.hidden = !menu.hidden; };
      wrap.append(button, menu);
      return wrap;
    }
    case "static_select": {
      const select = el("select", "bk-select");
      select.dataset.actionId = element.action_id;
      select.append(new Option(plain(element.placeholder) || "Choose…", ""));
      const groups = element.option_groups || [{ options: element.options || [] }];
      for (const group of groups) for (const opt of group.options) {
        const option = new Option(plain(opt.text), opt.value);
        if (element.initial_option && element.initial_option.value === opt.value) option.selected = true;
        select.append(option);
      }
      select.onchange = () => {
        const opt = groups.flatMap((g) => g.options).find((o) => o.value === select.value);
        if (opt && !ctx.inInput) confirmThen(element.confirm, () => act(ctx, blockId, {
          type: "static_select", action_id: element.action_id, selected_option: optionOf(opt),
        }));
      };
      return select;
    }
    case "external_select": {
      const wrap = el("span", "bk-external");
      const input = el("input", "bk-select");
      input.placeholder = plain(element.placeholder) || "Type to search…";
      input.dataset.actionId = element.action_id;
      const list = el("datalist");
      list.id = `dl-${blockId}-${element.action_id}`;
      input.setAttribute("list", list.id);
      let options = [];
      if (element.initial_option) { input.value = plain(element.initial_option.text); input.dataset.value = element.initial_option.value; }
      input.oninput = async () => {
        const chosen = options.find((o) => plain(o.text) === input.value);
        if (chosen) {
          input.dataset.value = chosen.value;
          if (!ctx.inInput) act(ctx, blockId, { type: "external_select", action_id: element.action_id, selected_option: optionOf(chosen) });
          return;
        }
        const answer = await api("options", { action_id: element.action_id, block_id: blockId, value: input.value, view_id: ctx.viewId });
        options = answer.options || [];
        list.replaceChildren(...options.map((o) => new Option(plain(o.text), plain(o.text))));
      };
      wrap.append(input, list);
      return wrap;
    }
    case "image": {
      const img = el("img", "bk-image");
      img.src = element.image_url; img.alt = element.alt_text; img.width = 20; img.height = 20;
      return img;
    }
    default:
      return unknown(element.type);
  }
}

function renderInputElement(element, blockId) {
  let node;
  if (element.type === "plain_text_input") {
    node = element.multiline ? el("textarea") : el("input");
    if (element.initial_value) node.value = element.initial_value;
    if (element.placeholder) node.placeholder = plain(element.placeholder);
    if (element.max_length) node.maxLength = element.max_length;
  } else if (element.type === "static_select") {
    node = renderElement(element, { inInput: true }, blockId);
  } else if (element.type === "external_select") {
    return renderElement(element, { inInput: true }, blockId);
  } else {
    return unknown(element.type);
  }
  node.dataset.actionId = element.action_id;
  node.dataset.kind = element.type;
  return node;
}

function collectValues(root) {
  const values = {};
  if (!root) return values;
  for (const block of root.querySelectorAll("[data-input-block]")) {
    const blockId = block.dataset.inputBlock;
    const field = block.querySelector("[data-action-id]");
    if (!field) continue;
    const actionId = field.dataset.actionId;
    let value;
    if (field.dataset.kind === "plain_text_input") value = { type: "plain_text_input", value: field.value || null };
    else if (field.tagName === "SELECT") {
      const option = field.selectedOptions[0];
      value = { type: "static_select", selected_option: field.value ? { text: { type: "plain_text", text: option.text }, value: field.value } : null };
    } else {
      value = { type: "external_select", selected_option: field.dataset.value ? { text: { type: "plain_text", text: field.value }, value: field.dataset.value } : null };
    }
    values[blockId] = { [actionId]: value };
  }
  return values;
}

// -- blocks -------------------------------------------------------------------------------
function renderBlocks(blocks, ctx, errors) {
  const frag = el("div", "bk-blocks");
  blocks.forEach((block, index) => {
    const blockId = block.block_id || `b${index}`;
    let node;
    switch (block.type) {
      case "header": node = textNode(block.text, "bk-header"); break;
      case "divider": node = el("hr", "bk-divider"); break;
      case "section": {
        node = el("div", "bk-section");
        const body = el("div", "bk-section-body");
        if (block.text) body.append(textNode(block.text));
        if (block.fields) {
          const fields = el("div", "bk-fields");
          for (const field of block.fields) fields.append(textNode(field));
          body.append(fields);
        }
        node.append(body);
        if (block.accessory) node.append(renderElement(block.accessory, ctx, blockId));
        break;
      }
      case "context": {
        node = el("div", "bk-context");
        for (const item of block.elements) {
          if (item.type === "image") node.append(renderElement(item, ctx, blockId));
          else if (item.type === "mrkdwn" || item.type === "plain_text") node.append(textNode(item));
          else node.append(unknown(item.type));
        }
        break;
      }
      case "actions": {
        node = el("div", "bk-actions");
        for (const element of block.elements) node.append(renderElement(element, ctx, blockId));
        break;
      }
      case "input": {
        node = el("div", "bk-input");
        node.dataset.inputBlock = blockId;
        const label = el("label", "", plain(block.label));
        if (block.optional) label.append(el("span", "optional", " (optional)"));
        node.append(label, renderInputElement(block.element, blockId));
        if (block.hint) node.append(el("div", "hint", plain(block.hint)));
        if (errors && errors[blockId]) {
          node.classList.add("has-error");
          node.append(el("div", "bk-error", errors[blockId]));
        }
        break;
      }
      case "image": {
        node = el("div");
        node.append(renderElement(block, ctx, blockId));
        break;
      }
      default: node = unknown(block.type);
    }
    node.classList.add("bk-block");
    node.dataset.blockId = blockId;
    frag.append(node);
  });
  return frag;
}

// -- screens -------------------------------------------------------------------------------
function renderMessage(msg) {
  const row = el("div", "msg" + (msg.ephemeral_for ? " ephemeral" : ""));
  row.dataset.ts = msg.ts;
  // a message from Slack itself (the bot did not answer) has no app tag
  row.append(el("div", msg.author ? "avatar slackbot" : "avatar", msg.author ? "S" : "C"));
  const body = el("div");
  const head = el("div", "msg-head", msg.author || "CSPM");
  if (!msg.author) head.append(el("span", "app-tag", "APP"));
  head.append(el("span", "time", new Date(Number(msg.ts.split(".")[0]) * 1000).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })));
  body.append(head);
  const ctx = { channel: channel === "D" ? "D" : msg.channel, ts: msg.ts };
  if (msg.blocks && msg.blocks.length) body.append(renderBlocks(msg.blocks, ctx));
  else body.append(textNode({ type: "mrkdwn", text: msg.text || "" }));
  if (msg.ephemeral_for) body.append(el("div", "ephemeral-note", "👁 Only visible to you"));
  row.append(body);
  return row;
}

function renderChannel() {
  const current = state.channels.find((c) => c.id === channel) || state.channels[0];
  $("channel-header").textContent = current.id === "D" ? "CSPM (messages)" : "# " + current.name;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren();
  const roots = current.messages.filter((m) => !m.thread_ts || m.thread_ts === m.ts);
  if (!roots.length) list.append(el("div", "empty", "No messages yet. Type /cspm help below to start."));
  for (const msg of roots) {
    const node = renderMessage(msg);
    const replies = current.messages.filter((m) => m.thread_ts === msg.ts && m.ts !== msg.ts);
    if (replies.length) {
      const thread = el("div", "thread");
      thread.append(el("div", "thread-title", `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
      for (const reply of replies) thread.append(renderMessage(reply));
      node.lastChild.append(thread);
    }
    list.append(node);
  }
  if (atBottom || renderedVersion < 0) list.scrollTop = list.scrollHeight;
}

function renderHome() {
  const home = $("home");
  home.replaceChildren();
  const tabs = el("div", "home-tabs");
  tabs.append(el("span", "", "Home"), el("span", "", "Messages"), el("span", "", "About"));
  home.append(tabs);
  if (!state.home) { home.append(el("div", "empty", "Loading the Home tab…")); return; }
  home.append(renderBlocks(state.home.blocks || [], { viewId: "VH" + user, root: home }));
}

function renderModal() {
  const view = state.modal;
  const key = view ? `${view.id}:${view.hash}` : "";
  if (key === renderedModal) return;
  renderedModal = key;
  if (!view) { $("modal-backdrop").hidden = true; return; }
  const modal = $("modal");
  modal.replaceChildren();
  const title = el("div", "modal-title", plain(view.title));
  if (state.stack_depth > 1) title.append(el("span", "modal-depth", `${state.stack_depth} of 3`));
  const body = el("div", "modal-body");
  const ctx = { viewId: view.id, root: body };
  body.append(renderBlocks(view.blocks || [], ctx));
  const foot = el("div", "modal-foot");
  const close = el("button", "bk-button", plain(view.close) || "Cancel");
  close.onclick = () => api("close", { view_id: view.id, values: collectValues(body) });
  foot.append(close);
  if (view.submit) {
    const submit = el("button", "bk-button primary", plain(view.submit));
    submit.onclick = async () => {
      const answer = await api("submit", { view_id: view.id, values: collectValues(body) });
      if (answer.errors) showErrors(body, answer.errors);
    };
    foot.append(submit);
  }
  modal.append(title, body, foot);
  $("modal-backdrop").hidden = false;
}

function showErrors(body, errors) {
  for (const block of body.querySelectorAll("[data-input-block]")) {
    block.classList.remove("has-error");
    block.querySelectorAll(".bk-error").forEach((n) => n.remove());
    const message = errors[block.dataset.inputBlock];
    if (message) { block.classList.add("has-error"); block.append(el("div", "bk-error", message)); }
  }
}

function renderSidebar() {
  const switcher = $("user-switch");
  if (!switcher.options.length) {
    for (const u of state.users) switcher.append(new Option(`${u.name} (${u.id})`, u.id));
    switcher.onchange = () => {
      user = switcher.value; localStorage.setItem("playground-user", user);
      renderedVersion = -1; renderedModal = "";
      if (tab === "home") api("home", {}); else poll();
    };
  }
  switcher.value = user;
  const me = state.users.find((u) => u.id === user);
  $("user-role").textContent = me ? me.role : "";
  const list = $("channel-list");
  list.replaceChildren();
  for (const c of state.channels) {
    const item = el("li");
    const link = el("a", tab === "channel" && c.id === channel ? "active" : "", c.id === "D" ? "✉ CSPM (messages)" : "# " + c.name);
    link.href = "#"; link.dataset.channel = c.id;
    link.onclick = (e) => { e.preventDefault(); tab = "channel"; channel = c.id; renderedVersion = -1; poll(); };
    item.append(link);
    list.append(item);
  }
  $("open-home").className = tab === "home" ? "active" : "";
  const notes = $("notes");
  notes.replaceChildren();
  for (const note of state.notes) {
    const box = el("div", "note");
    box.append(el("h4", "", note.title), el("div", "", note.text));
    if (note.code) box.append(el("pre", "", note.code));
    notes.append(box);
  }
}

function render() {
  renderSidebar();
  $("messages").hidden = tab !== "channel";
  $("composer").hidden = tab !== "channel";
  $("home").hidden = tab !== "home";
  if (tab === "home") { $("channel-header").textContent = "CSPM — Home"; renderHome(); }
  else renderChannel();
  renderModal();
  document.body.dataset.version = String(state.version);
}

async function poll() {
  const response = await fetch(`/play/state?user=${encodeURIComponent(user)}`);
  state = await response.json();
  if (state.version !== renderedVersion) { render(); renderedVersion = state.version; }
}

$("composer").onsubmit = (event) => {
  event.preventDefault();
  const text = $("composer-input").value.trim();
  if (!text) return;
  $("composer-input").value = "";
  api("command", { text, channel: channel === "D" ? "D" + user.slice(1) : channel });
};
$("open-home").onclick = (event) => {
  event.preventDefault(); tab = "home"; renderedVersion = -1; api("home", {});
};
document.addEventListener("click", (event) => {
  if (!event.target.closest(".bk-overflow")) document.querySelectorAll(".bk-overflow-menu").forEach((m) => { m.hidden = true; });
});
poll();
setInterval(poll, 600);
