// The SupportPilot operator console. Plain JavaScript, no build step.
// Everything that came from a customer or the API is put in the page as text (textContent), never as HTML.

const TOKEN_KEY = "supportpilot.idToken";
const LANGUAGE_KEY = "supportpilot.language";
const PRIORITY_RANK = { P1: 1, P2: 2, P3: 3 };
const apiBase = new URL("../", window.location.href);

const state = {
  config: null,
  strings: {},
  language: "en",
  token: null,
  claims: null,
  expiryTimer: null,
  challenge: null,
  tickets: [],
  nextCursor: null,
  ticket: null,
  knownCategories: new Set(),
  workload: null,
  reportUrl: null,
  customerTimeline: null,
  unmatched: [],
  callTicket: null,
  pendingReply: null, // {text, key}: the reply being sent and its Idempotency-Key
  status: null, // {key, values, tone}: the status line's message, said again in the new language after a switch
  error: null, // {key, values, detail}: the error box's message, said again in the new language after a switch
};

const $ = (id) => document.getElementById(id);

// ---------- text and elements ----------

function t(key, values = {}) {
  const table = state.strings[state.language] || {};
  const text = table[key] ?? state.strings.en?.[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
}

function tOr(prefix, value) {
  // A translated name for a known value (status, queue, ...), else the value itself.
  if (value === null || value === undefined || value === "") return "–";
  const key = `${prefix}.${value}`;
  const table = state.strings[state.language] || {};
  return table[key] ?? state.strings.en?.[key] ?? String(value).replaceAll("_", " ");
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "className") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function formatTime(iso) {
  if (!iso) return "–";
  const locale = state.language === "nl" ? "nl-NL" : "en-GB";
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

function formatValue(value) {
  if (value === null || value === undefined) return "–";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function facts(target, rows) {
  target.replaceChildren();
  for (const [label, value] of rows) {
    target.append(el("dt", {}, label), el("dd", {}, value instanceof Node ? value : formatValue(value)));
  }
}

function list(items) {
  if (!items || items.length === 0) return "–";
  return el("ul", { className: "plain" }, items.map((item) => el("li", {}, item)));
}

function applyLanguage() {
  document.documentElement.lang = state.language;
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  for (const button of document.querySelectorAll("button.lang")) {
    button.setAttribute("aria-pressed", String(button.dataset.lang === state.language));
  }
  document.title = `SupportPilot – ${t("console")}`;
  renderStatus();
  renderError();
  rerender();
}

function rerender() {
  // After a language switch: the same view with the data already loaded, in the new language.
  const visible = document.querySelector(".view:not([hidden])");
  if (!visible) return;
  show(visible.id);
  if (visible.id === "queue-view") renderQueue();
  if (visible.id === "ticket-view" && state.ticket) renderTicket();
  if (visible.id === "workload-view" && state.workload) renderWorkload();
  if (visible.id === "customer-view" && state.customerTimeline) renderCustomerTimeline();
  if (visible.id === "calls-view") renderUnmatched();
}

// ---------- status and errors ----------

function announce(key = null, values = {}) {
  // Kept as a key and its values, not as text: a language switch shows the same message in the new language.
  clearError();
  say(key, values);
}

function say(key, values = {}, tone = "ok") {
  // The status line, leaving the error box as it is.
  state.status = key ? { key, values, tone } : null;
  renderStatus();
}

function renderStatus() {
  $("status").textContent = state.status ? t(state.status.key, state.status.values) : "";
  $("status").dataset.tone = state.status?.tone || "ok";
}

function showError(key, values = {}, detail = {}) {
  // Like the status line, a key and its values, said again in the new language after a switch. detail: the HTTP
  // status, the field the API named and its reason, which stays as the server sent it. The status line is
  // emptied: an earlier success must not stand next to an error (a 409's reload says what it did afterwards).
  state.error = { key, values, detail };
  renderError();
  say();
}

function clearError() {
  state.error = null;
  renderError();
}

function renderError() {
  const box = $("error");
  box.hidden = !state.error;
  if (!state.error) return;
  const { key, values, detail } = state.error;
  let text = key ? t(key, values) : "";
  if (detail.status) text += ` (${detail.status})`;
  if (detail.field) text += ` – ${t("field_named", { field: detail.field })}`;
  if (detail.reason) text += text ? `: ${detail.reason}` : detail.reason;
  box.textContent = text;
}

class ConsoleError extends Error {
  // A failure as the error box shows it: a message key, and the detail an API answer gave (see showError).
  constructor(key, detail = {}) {
    super(detail.reason || key);
    this.key = key;
    this.detail = detail;
  }
}

class ApiError extends ConsoleError {
  constructor(status, body) {
    const answer = body || {};
    const first = Array.isArray(answer.detail) ? answer.detail[0] : null;
    const field = answer.field || (first?.loc || []).filter((part) => part !== "body").join(".");
    const key = `http.${status}` in (state.strings.en || {}) ? `http.${status}` : "http.other";
    super(key, { status, field, reason: answer.message || first?.msg || "" });
    this.status = status;
  }
}

async function reloadAfterConflict(error, reload, key) {
  // A 409: what the operator acted on changed meanwhile (or its state does not allow this). The error stays;
  // the view is loaded again, so they see what the other person did, and the status line says so. When that
  // load fails, the 409 stays in the error box all the same (it says why nothing was done), and the status
  // line says the view could not be loaded (unless the failure signed them out).
  if (!(error instanceof ApiError && error.status === 409)) return;
  const conflict = state.error;
  if (await reload()) say(key, {}, "warning");
  else if (state.token) {
    state.error = conflict;
    renderError();
    say("conflict_not_reloaded", {}, "warning");
  }
}

async function reloadAfterSuccess(reload, key, values = {}) {
  // The action was done: that stays said, also next to the error of a reload that failed (unless that signed out).
  announce(key, values);
  if (!(await reload()) && state.token) say(key, values);
}

function report(error) {
  if (error instanceof ApiError && error.status === 401) signOut("session_expired");
  else if (error instanceof ConsoleError) showError(error.key, {}, error.detail);
  else showError("http.other", {}, { reason: error.message });
}

// ---------- Cognito sign-in ----------

function decodeClaims(token) {
  const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
  const padded = part + "=".repeat((4 - (part.length % 4)) % 4);
  const json = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
  return JSON.parse(json);
}

function groupsOf(claims) {
  const groups = claims["cognito:groups"] || [];
  return Array.isArray(groups) ? groups : String(groups).split(/[\s,]+/);
}

function hasRole(role) {
  const groups = groupsOf(state.claims || {});
  if (role === "supervisor") return groups.includes("supervisor") || groups.includes("admin");
  return groups.length > 0;
}

async function cognito(target, body) {
  const response = await fetch(state.config.cognito.endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.1",
      "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
    },
    body: JSON.stringify(body),
  });
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(payload.__type || "").split("#").pop();
    const known = ["NotAuthorizedException", "UserNotFoundException", "InvalidPasswordException"];
    throw new ConsoleError(known.includes(type) ? `cognito.${type}` : "sign_in_failed");
  }
  return payload;
}

function acceptAuthentication(result) {
  if (result.AuthenticationResult?.IdToken) {
    startSession(result.AuthenticationResult.IdToken);
    return;
  }
  if (result.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    state.challenge = { session: result.Session, username: $("email").value };
    $("sign-in-form").hidden = true;
    $("new-password-form").hidden = false;
    $("new-password").focus();
    return;
  }
  throw new ConsoleError("sign_in_failed");
}

async function signIn(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  if (!email || !password) {
    showError("sign_in_missing");
    return;
  }
  announce("signing_in");
  try {
    const result = await cognito("InitiateAuth", {
      AuthFlow: "USER_PASSWORD_AUTH",
      ClientId: state.config.cognito.client_id,
      AuthParameters: { USERNAME: email, PASSWORD: password },
    });
    $("password").value = "";
    acceptAuthentication(result);
  } catch (error) {
    report(error);
  }
}

async function setNewPassword(event) {
  event.preventDefault();
  try {
    const result = await cognito("RespondToAuthChallenge", {
      ChallengeName: "NEW_PASSWORD_REQUIRED",
      ClientId: state.config.cognito.client_id,
      Session: state.challenge.session,
      ChallengeResponses: { USERNAME: state.challenge.username, NEW_PASSWORD: $("new-password").value },
    });
    $("new-password").value = "";
    acceptAuthentication(result);
  } catch (error) {
    report(error);
  }
}

function startSession(token) {
  const claims = decodeClaims(token);
  const remaining = claims.exp * 1000 - Date.now();
  if (remaining <= 0) {
    signOut("session_expired");
    return;
  }
  state.token = token;
  state.claims = claims;
  sessionStorage.setItem(TOKEN_KEY, token);
  clearTimeout(state.expiryTimer);
  state.expiryTimer = setTimeout(() => signOut("session_expired"), remaining);
  $("sign-in-form").hidden = false;
  $("new-password-form").hidden = true;
  // Landing on the queue replaces the address without a hashchange, which would clear what this says.
  if (!window.location.hash || window.location.hash === "#sign-in") window.history.replaceState(null, "", "#queue");
  route();
  announce("signed_in_as", { who: claims.email || claims.sub });
}

function signOut(errorKey) {
  clearTimeout(state.expiryTimer);
  state.token = null;
  state.claims = null;
  sessionStorage.removeItem(TOKEN_KEY);
  announce();
  route();
  if (errorKey) showError(errorKey);
}

// ---------- the operator API ----------

async function apiResponse(method, path, body, extraHeaders = {}) {
  const headers = { Authorization: state.token, ...extraHeaders };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(new URL(path, apiBase), {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new ApiError(response.status, await response.json().catch(() => ({})));
  return response;
}

async function api(method, path, body, extraHeaders = {}) {
  const response = await apiResponse(method, path, body, extraHeaders);
  return response.json().catch(() => ({}));
}

// ---------- views ----------

function show(viewId) {
  for (const view of document.querySelectorAll(".view")) view.hidden = view.id !== viewId;
  const signedIn = Boolean(state.token);
  $("nav").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  $("who").textContent = signedIn ? t("signed_in_short", { who: state.claims.email || state.claims.sub }) : "";
  for (const node of document.querySelectorAll("[data-needs-role]")) node.hidden = !hasRole(node.dataset.needsRole);
}

function route() {
  const hash = window.location.hash.slice(1);
  if (!state.token) {
    show("sign-in-view");
    return;
  }
  if (hash.startsWith("ticket/")) {
    show("ticket-view");
    loadTicket(decodeURIComponent(hash.slice("ticket/".length)));
  } else if (hash.startsWith("customer/")) {
    show("customer-view");
    loadCustomerTimeline(decodeURIComponent(hash.slice("customer/".length)));
  } else if (hash === "breaches") {
    show("breaches-view");
    loadBreaches();
  } else if (hash === "workload") {
    show("workload-view");
    loadWorkload();
  } else if (hash === "calls") {
    show("calls-view");
    placeCallForm("calls-call-slot", null);
    loadUnmatched();
  } else {
    show("queue-view");
    loadQueue(false);
  }
}

// ---------- SLA timers ----------

function slaBadge(slaState, dueAt) {
  return el("span", { className: "sla", dataset: { state: slaState, due: dueAt || "" } });
}

function renderTimer(node) {
  const { state: slaState, due } = node.dataset;
  node.classList.remove("breached", "overdue", "soon");
  if (slaState === "claimed") {
    node.textContent = t("sla.claimed");
    return;
  }
  if (slaState === "breached") {
    node.classList.add("breached");
    node.textContent = t("sla_breached_marker");
    return;
  }
  if (!due) {
    node.textContent = "–";
    return;
  }
  const seconds = Math.round((new Date(due).getTime() - Date.now()) / 1000);
  const span = duration(Math.abs(seconds));
  if (seconds < 0) {
    node.classList.add("overdue");
    node.textContent = t("sla_overdue", { time: span });
  } else {
    if (seconds < 900) node.classList.add("soon");
    node.textContent = t("sla_left", { time: span });
  }
}

function duration(seconds) {
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const two = (n) => String(n).padStart(2, "0");
  if (hours > 0) return t("duration_hours", { h: hours, m: two(minutes) });
  return t("duration_minutes", { m: minutes, s: two(seconds % 60) });
}

function tickTimers() {
  for (const node of document.querySelectorAll(".sla")) renderTimer(node);
}

// ---------- queue ----------

function urgency(ticket) {
  const due = ticket.sla_due_at ? new Date(ticket.sla_due_at).getTime() : Number.MAX_SAFE_INTEGER;
  return [
    ticket.sla_state === "breached" ? 0 : 1,
    PRIORITY_RANK[ticket.priority] ?? 4,
    ticket.sla_state === "claimed" ? 1 : 0,
    due,
    new Date(ticket.created_at).getTime(),
  ];
}

function mostUrgentFirst(a, b) {
  const [x, y] = [urgency(a), urgency(b)];
  for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

function markers(ticket) {
  const found = [];
  if (ticket.high_emotional_load) found.push(el("span", { className: "marker emotional" }, t("emotional_marker")));
  if (ticket.automation_level === "suggest") found.push(el("span", { className: "marker suggest" }, t("suggest_marker")));
  if (ticket.claimed_by) found.push(el("span", { className: "marker" }, t("claimed_by", { who: ticket.claimed_by })));
  return found;
}

function filterQuery() {
  const query = new URLSearchParams();
  for (const [name, value] of new FormData($("filters"))) if (value) query.set(name, value);
  return query;
}

async function loadQueue(more) {
  const query = filterQuery();
  query.set("limit", "50");
  if (more && state.nextCursor) query.set("cursor", state.nextCursor);
  try {
    const page = await api("GET", `api/tickets?${query}`);
    state.tickets = more ? [...state.tickets, ...page.tickets] : page.tickets;
    state.nextCursor = page.next_cursor;
    renderQueue();
  } catch (error) {
    report(error);
  }
}

function renderQueue() {
  const tickets = [...state.tickets].sort(mostUrgentFirst);
  for (const ticket of tickets) if (ticket.category) state.knownCategories.add(ticket.category);
  $("queue-rows").replaceChildren(
    ...tickets.map((ticket) =>
      el(
        "tr",
        { dataset: { ticketId: ticket.id, priority: ticket.priority || "" } },
        el("td", {}, el("span", { className: `priority ${ticket.priority || ""}` }, ticket.priority || "–")),
        el("td", {}, slaBadge(ticket.sla_state, ticket.sla_due_at)),
        el(
          "td",
          {},
          el("a", { href: `#ticket/${encodeURIComponent(ticket.id)}` }, ticket.subject || t("no_subject")),
          " ",
          markers(ticket),
        ),
        el("td", {}, tOr("category", ticket.category)),
        el("td", {}, tOr("queue", ticket.queue)),
        el("td", {}, tOr("status", ticket.status)),
        el("td", {}, tOr("language", ticket.language)),
      ),
    ),
  );
  $("queue-empty").hidden = tickets.length > 0;
  $("load-more").hidden = !state.nextCursor;
  tickTimers();
}

async function loadBreaches() {
  try {
    const tickets = (await api("GET", "api/breaches")).sort(mostUrgentFirst);
    $("breach-list").replaceChildren(
      ...tickets.map((ticket) =>
        el(
          "li",
          {},
          el("span", { className: `priority ${ticket.priority || ""}` }, ticket.priority || "–"),
          " ",
          el("a", { href: `#ticket/${encodeURIComponent(ticket.id)}` }, ticket.subject || t("no_subject")),
          " ",
          slaBadge(ticket.sla_state, ticket.sla_due_at),
        ),
      ),
    );
    $("breaches-empty").hidden = tickets.length > 0;
    tickTimers();
  } catch (error) {
    report(error);
  }
}

// ---------- ticket detail ----------

async function loadTicket(ticketId) {
  try {
    state.ticket = await api("GET", `api/tickets/${encodeURIComponent(ticketId)}`);
    renderTicket();
    return true;
  } catch (error) {
    report(error);
    return false;
  }
}

function renderTicket() {
  const detail = state.ticket;
  const ticket = detail.ticket;
  $("ticket-title").textContent = ticket.subject || t("no_subject");
  $("ticket-meta").replaceChildren(
    el("span", { className: `priority ${ticket.priority || ""}` }, ticket.priority || "–"),
    " ",
    slaBadge(detail.sla_state, detail.escalation?.sla_due_at),
    " · ",
    `${t("status_label")}: ${tOr("status", ticket.status)}`,
    " · ",
    `${t("col_queue")}: ${tOr("queue", ticket.queue)}`,
    " · ",
    `${t("channel")}: ${ticket.channel}`,
    " · ",
    `${t("col_language")}: ${tOr("language", ticket.language)}`,
    " · ",
    `#${ticket.id}`,
    " ",
    // replaceChildren would write a null as the text "null": an absent marker is an empty string.
    ticket.triage?.high_emotional_load ? el("span", { className: "marker emotional" }, t("emotional_marker")) : "",
    detail.unconfirmed_sends?.length
      ? el("span", { className: "marker unconfirmed" }, t("unconfirmed_sends_marker", { count: detail.unconfirmed_sends.length }))
      : "",
  );
  renderUnconfirmedSends(detail.unconfirmed_sends || []);
  const escalation = detail.escalation?.state;
  $("claim").hidden = !(escalation === "waiting" || escalation === "breached");
  const closed = ticket.status === "closed";
  $("close-ticket").hidden = closed;
  $("reopen-ticket").hidden = !(ticket.status === "resolved" || closed);
  // The API refuses a reply to a closed ticket (409): instead of the form, say to reopen it with the button above.
  $("reply-form").hidden = closed;
  $("reply-closed").hidden = !closed;
  $("reply-closed").textContent = t("reply_closed", { button: t("reopen_ticket") });
  renderSuggestion(detail.suggested_action);
  $("empathy").hidden = !detail.empathy_hint;
  $("empathy-body").textContent = detail.empathy_hint || "";
  renderMessages(detail.messages);
  renderTriage(ticket.triage);
  renderRouting(detail.routing);
  renderEscalation(detail.escalation);
  renderCustomer(ticket);
  renderTimeline($("timeline"), detail.timeline);
  if (state.callTicket?.id !== ticket.id) placeCallForm("ticket-call-slot", ticket);
  $("call-for").textContent = t("call_for_ticket_customer", { who: ticket.customer.value });
  renderLabels(detail.labels);
  renderAudit(detail.audit);
  tickTimers();
}

function renderUnconfirmedSends(sends) {
  // Mails that may or may not have reached the customer: the operator says what they found out.
  $("unconfirmed-sends").hidden = sends.length === 0;
  $("unconfirmed-send-list").replaceChildren(
    ...sends.map((entry) => {
      const requestId = entry.detail.request_id;
      const answer = (customerGotIt, key) => {
        const button = el("button", { type: "button", className: customerGotIt ? null : "secondary" }, t(key));
        button.addEventListener("click", () => checkSend(requestId, customerGotIt));
        return button;
      };
      return el(
        "li",
        { className: "inline", dataset: { requestId } },
        `${tOr("send_kind", entry.detail.kind)} · ${formatTime(entry.at)}`,
        answer(true, "send_got_it"),
        answer(false, "send_not_got_it"),
      );
    }),
  );
}

function renderSuggestion(action) {
  $("suggestion").hidden = !action;
  if (!action) return;
  const parameters = Object.entries(action.parameters || {}).map(([key, value]) => `${key}: ${formatValue(value)}`);
  $("suggestion-body").replaceChildren(
    el("p", {}, action.summary),
    el(
      "dl",
      { className: "facts" },
      el("dt", {}, t("suggestion_kind")),
      el("dd", {}, tOr("action", action.kind)),
      el("dt", {}, t("suggestion_state")),
      el("dd", { id: "suggestion-status" }, tOr("decision", action.status)),
      el("dt", {}, t("parameters")),
      el("dd", {}, list(parameters)),
    ),
  );
  $("suggestion-form").hidden = action.status !== "proposed";
}

function renderMessages(messages) {
  $("messages").replaceChildren(
    ...messages.map((message) =>
      el(
        "li",
        { className: `message ${message.direction}` },
        el(
          "p",
          { className: "meta" },
          el("strong", {}, tOr("direction", message.direction)),
          ` · ${message.channel} · ${formatTime(message.received_at)}`,
        ),
        message.subject ? el("p", { className: "subject" }, message.subject) : null,
        el("div", { className: "body" }, message.body),
        message.quoted ? el("details", {}, el("summary", {}, t("quoted_text")), el("div", { className: "body" }, message.quoted)) : null,
        message.attachments?.length
          ? el("p", {}, `${t("attachments")}: `, message.attachments.map((a) => `${a.filename} (${a.size} B)`).join(", "))
          : null,
        message.warnings?.length ? el("p", { className: "warning" }, message.warnings.join("; ")) : null,
      ),
    ),
  );
}

function renderTriage(triage) {
  if (!triage) {
    facts($("triage"), [[t("category"), t("not_triaged")]]);
    return;
  }
  state.knownCategories.add(triage.category);
  $("known-categories").replaceChildren(...[...state.knownCategories].sort().map((c) => el("option", { value: c })));
  facts($("triage"), [
    [t("category"), tOr("category", triage.category)],
    [t("confidence"), `${Math.round(triage.confidence * 100)}%`],
    [t("col_language"), tOr("language", triage.language)],
    [t("emotional_load"), `${Math.round(triage.emotional_load * 100)}%`],
    [t("emotional_load_flag"), triage.high_emotional_load ? t("yes") : t("no")],
    [t("cues"), list(triage.cues)],
    [t("reasons"), list(triage.reasons)],
    [t("needs_human"), triage.needs_human ? t("yes") : t("no")],
    [t("model"), `${triage.model_name} ${triage.model_version}`],
  ]);
}

function renderRouting(routing) {
  if (!routing) {
    facts($("routing"), [[t("routing_title"), t("not_routed")]]);
    return;
  }
  facts($("routing"), [
    [t("col_queue"), tOr("queue", routing.queue)],
    [t("col_priority"), routing.priority],
    [t("automation_level"), tOr("automation", routing.automation_level)],
    [t("reasons"), list(routing.reasons)],
    [t("context_summary"), routing.context_summary],
    [t("policy_version"), routing.policy_version],
    [t("decided_at"), formatTime(routing.decided_at)],
  ]);
}

function renderEscalation(escalation) {
  if (!escalation) {
    facts($("escalation"), [[t("escalation_state"), t("no_escalation")]]);
    return;
  }
  facts($("escalation"), [
    [t("escalation_state"), tOr("escalation", escalation.state)],
    [t("tier"), escalation.tier],
    [t("sla_due"), formatTime(escalation.sla_due_at)],
    [t("claimed_by_label"), escalation.claimed_by],
    [t("breached_at"), escalation.breached_at ? formatTime(escalation.breached_at) : null],
  ]);
}

function renderCustomer(ticket) {
  const profile = ticket.profile;
  const customer = ticket.customer;
  const rows = [[t("customer_contact"), `${customer.display_name ? `${customer.display_name} – ` : ""}${customer.value}`]];
  if (profile) {
    rows.push(
      [t("vip"), profile.vip ? `${t("yes")} (${profile.vip_reasons.join("; ")})` : t("no")],
      [t("contacts"), t("contacts_value", { week: profile.contacts_last_7_days, month: profile.contacts_last_30_days })],
      [t("order_count"), profile.order_count],
      [t("lifetime_value"), `${profile.lifetime_value} ${profile.currency || ""}`.trim()],
      [t("order_data"), profile.order_data_available ? profile.order_data_source : t("order_data_unavailable")],
      [t("open_tickets_of_customer"), list(profile.open_ticket_ids)],
      [t("notes"), list(profile.notes)],
    );
  }
  facts($("customer"), rows);
  $("customer-timeline-link").href = `#customer/${encodeURIComponent(customer.id)}`;
  const orders = profile?.orders || [];
  $("orders").replaceChildren(
    ...(orders.length === 0
      ? [el("li", {}, "–")]
      : orders.map((order) =>
          el(
            "li",
            {},
            el("strong", {}, order.reference),
            ` · ${formatTime(order.placed_at)} · ${order.total ?? "–"} ${order.currency ?? ""} · `,
            `${t("delivery")}: ${order.delivery_status ?? "–"}`,
            order.tracking_number ? ` · ${t("tracking")}: ${order.tracking_number}` : "",
          ),
        )),
  );
}

function renderTimeline(target, events) {
  // Any kind of event (orders, calls, chats, imported tickets, ...): its kind, time, one-line summary and details.
  const sorted = [...events].sort((a, b) => new Date(b.occurred_at) - new Date(a.occurred_at));
  target.replaceChildren(
    ...(sorted.length === 0
      ? [el("li", {}, t("timeline_empty"))]
      : sorted.map((event) => {
          const { summary, ...rest } = event.details || {};
          const details = Object.entries(rest)
            .filter(([, value]) => value !== null && value !== undefined && value !== "")
            .map(([key, value]) => [key.replaceAll("_", " "), formatValue(value)]);
          if (event.reference) details.unshift([t("reference"), event.reference]);
          if (event.amount) details.unshift([t("amount"), `${event.amount} ${event.currency || ""}`.trim()]);
          const dl = el("dl", { className: "facts small" });
          facts(dl, details);
          return el(
            "li",
            { className: "event", dataset: { kind: event.kind } },
            el("p", { className: "meta" }, el("strong", {}, tOr("event", event.kind)), ` · ${event.source} · ${formatTime(event.occurred_at)}`),
            summary ? el("p", { className: "summary" }, formatValue(summary)) : null,
            event.ticket_id ? el("p", {}, ticketLink(event.ticket_id)) : null,
            dl,
          );
        })),
  );
}

function ticketLink(ticketId) {
  return el("a", { href: `#ticket/${encodeURIComponent(ticketId)}` }, t("ticket_number", { id: ticketId }));
}

function customerLink(customerId) {
  return el("a", { href: `#customer/${encodeURIComponent(customerId)}` }, customerId);
}

function renderLabels(labels) {
  $("labels").replaceChildren(
    ...(labels.length === 0
      ? [el("li", {}, "–")]
      : labels.map((label) => {
          const parts = [];
          if (label.category !== null && label.category !== undefined) parts.push(`${t("category")}: ${label.category}`);
          if (label.high_emotional_load !== null && label.high_emotional_load !== undefined) {
            parts.push(`${t("emotional_load_flag")}: ${label.high_emotional_load ? t("yes") : t("no")}`);
          }
          return el("li", {}, `${parts.join(", ")} – ${label.operator_id} · ${formatTime(label.at)}`);
        })),
  );
}

function renderAudit(entries) {
  $("audit-rows").replaceChildren(
    ...entries.map((entry) =>
      el(
        "tr",
        { dataset: { action: entry.action } },
        el("td", {}, formatTime(entry.at)),
        el("td", {}, `${tOr("actor", entry.actor.kind)}: ${entry.actor.id}${entry.actor.version ? ` ${entry.actor.version}` : ""}`),
        el("td", {}, entry.action),
        el("td", { className: "detail" }, JSON.stringify(entry.detail)),
      ),
    ),
  );
}

// ---------- workload and the report (supervisors) ----------

function utcDay(date) {
  return date.toISOString().slice(0, 10);
}

function period() {
  if (!$("period-to").value) $("period-to").value = utcDay(new Date());
  if (!$("period-from").value) $("period-from").value = utcDay(new Date(Date.now() - 6 * 86400000)); // the API's default
  return new URLSearchParams({ from: $("period-from").value, to: $("period-to").value });
}

async function loadWorkload() {
  try {
    state.workload = await api("GET", `api/workload?${period()}`);
    renderWorkload();
  } catch (error) {
    report(error);
  }
}

function formatNumber(value, options = {}) {
  if (value === null || value === undefined) return "–";
  return new Intl.NumberFormat(state.language === "nl" ? "nl-NL" : "en-GB", options).format(value);
}

function workloadTable(rows, firstColumn, nameOf) {
  if (rows.length === 0) return el("p", { className: "meta" }, t("workload_empty"));
  const columns = ["col_open", "col_claimed", "col_handled", "col_handled_per_day", "col_median_handling", "col_automation_share", "col_sla_breaches"];
  return el(
    "table",
    { className: "figures" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t(firstColumn)), columns.map((key) => el("th", { scope: "col" }, t(key))))),
    el(
      "tbody",
      {},
      rows.map((row) =>
        el(
          "tr",
          { dataset: { key: row.key } },
          el("th", { scope: "row" }, nameOf(row.key)),
          el("td", {}, formatNumber(row.open)),
          el("td", {}, formatNumber(row.claimed)),
          el("td", {}, formatNumber(row.handled)),
          el("td", {}, formatNumber(row.handled_per_day, { maximumFractionDigits: 2 })),
          el("td", {}, row.median_handling_seconds === null ? "–" : duration(Math.round(row.median_handling_seconds))),
          el("td", {}, formatNumber(row.automation_prepared_share, { style: "percent", maximumFractionDigits: 1 })),
          el("td", {}, formatNumber(row.sla_breaches)),
        ),
      ),
    ),
  );
}

function renderWorkload() {
  const view = state.workload;
  const lastDay = new Date(new Date(view.period_end).getTime() - 86400000);
  $("workload-period").textContent = t("workload_period", {
    from: utcDay(new Date(view.period_start)),
    to: utcDay(lastDay),
    days: view.days,
  });
  const operatorName = (key) => (key === state.claims.sub ? `${key} (${t("you")})` : key);
  $("workload-operators").replaceChildren(workloadTable(view.operators, "col_operator", operatorName));
  $("workload-teams").replaceChildren(workloadTable(view.teams, "col_team", (key) => tOr("queue", key)));
}

async function openReport() {
  const query = period();
  announce("report_loading");
  try {
    // The page needs the bearer token, so it is fetched here and shown from a blob: URL in a frame
    // sandboxed without scripts or same-origin rights; the same URL is the download.
    const response = await apiResponse("GET", `api/report?${query}`);
    const page = new Blob([await response.text()], { type: "text/html" });
    if (state.reportUrl) URL.revokeObjectURL(state.reportUrl);
    state.reportUrl = URL.createObjectURL(page);
    const names = { from: query.get("from"), to: query.get("to") };
    $("report-frame").title = t("report_frame", names);
    $("report-frame").src = state.reportUrl;
    $("report-download").href = state.reportUrl;
    $("report-download").download = `supportpilot-report-${names.from}-${names.to}.html`;
    $("report-panel").hidden = false;
    announce("done_report", names);
    $("report-title").focus();
  } catch (error) {
    report(error);
  }
}

// ---------- calls, unmatched contacts and a customer's timeline ----------

function localNow() {
  // datetime-local wants local wall-clock time without a zone.
  const now = new Date();
  return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}

function placeCallForm(slotId, ticket) {
  // One form, shown on the calls screen or in a ticket (then filled in with the ticket's customer).
  $(slotId).append($("call-panel"));
  state.callTicket = ticket;
  $("call-for").hidden = !ticket;
  $("call-result").hidden = true;
  clearCallForm();
}

function clearCallForm() {
  $("call-form").reset();
  $("call-started").value = localNow();
  $("call-customer-id").value = state.callTicket ? state.callTicket.customer.id : "";
}

function callBody() {
  const body = {
    direction: $("call-direction").value,
    started_at: new Date($("call-started").value).toISOString(),
    duration_seconds: Math.round(Number($("call-duration").value) * 60),
    summary: $("call-summary").value.trim(),
    outcome: $("call-outcome").value,
    follow_up: $("call-follow-up").checked,
  };
  for (const [field, input] of [["customer_id", "call-customer-id"], ["email", "call-email"], ["phone", "call-phone"]]) {
    const value = $(input).value.trim();
    if (value) body[field] = value;
  }
  return body;
}

async function logCall() {
  const body = callBody();
  if (!body.customer_id && !body.email && !body.phone) {
    showError("call_missing_customer");
    $("call-email").focus();
    return;
  }
  try {
    const logged = await api("POST", "api/calls", body);
    clearCallForm();
    renderCallResult(logged);
    const reload = state.callTicket ? () => loadTicket(state.callTicket.id) : loadUnmatched;
    await reloadAfterSuccess(reload, logged.matched ? "done_call" : "call_unmatched");
  } catch (error) {
    report(error);
  }
}

function renderCallResult(logged) {
  const parts = [];
  if (logged.matched) {
    parts.push(el("p", {}, t("call_logged"), " ", customerLink(logged.customer_id)));
    parts.push(el("p", {}, logged.ticket_id ? [t("call_ticket_opened"), " ", ticketLink(logged.ticket_id)] : t("call_no_ticket")));
  } else {
    parts.push(el("p", { className: "warning" }, el("strong", {}, t("call_unmatched")), " ", logged.unmatched_reason || ""));
    parts.push(el("p", {}, el("a", { href: "#calls" }, t("call_unmatched_hint"))));
  }
  if (logged.triage) {
    parts.push(
      el("p", { className: "meta" }, t("call_triage", { category: tOr("category", logged.triage.category), load: `${Math.round(logged.triage.emotional_load * 100)}%` })),
    );
  }
  $("call-result").replaceChildren(...parts);
  $("call-result").dataset.matched = String(logged.matched);
  $("call-result").hidden = false;
}

async function loadUnmatched() {
  try {
    state.unmatched = await api("GET", "api/calls/unmatched");
    renderUnmatched();
    return true;
  } catch (error) {
    report(error);
    return false;
  }
}

function renderUnmatched() {
  $("unmatched-list").replaceChildren(
    ...state.unmatched.map((contact) => {
      const select = el("select", { id: `attach-${contact.id}`, name: "customer_id" }, contact.candidates.map((id) => el("option", { value: id }, id)));
      const form = el(
        "form",
        { className: "inline", method: "post" },
        el("label", { for: `attach-${contact.id}` }, t("attach_to")),
        select,
        el("button", { type: "submit" }, t("attach")),
      );
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        attachContact(contact.id, select.value);
      });
      return el(
        "li",
        { className: "contact panel", dataset: { contactId: contact.id } },
        el(
          "p",
          { className: "meta" },
          el("strong", {}, `${tOr("channel", contact.channel)} · ${tOr("call_direction", contact.direction)}`),
          ` · ${formatTime(contact.occurred_at)} · ${contact.phone || contact.email || "–"}`,
        ),
        contact.summary ? el("p", { className: "body" }, contact.summary) : null,
        el("p", {}, `${t("unmatched_candidates")}: `, contact.candidates.flatMap((id, i) => (i ? [", ", customerLink(id)] : [customerLink(id)]))),
        form,
      );
    }),
  );
  $("unmatched-empty").hidden = state.unmatched.length > 0;
}

async function attachContact(contactId, customerId) {
  try {
    await api("POST", `api/calls/unmatched/${encodeURIComponent(contactId)}/attach`, { customer_id: customerId });
    await reloadAfterSuccess(loadUnmatched, "done_attached", { who: customerId });
  } catch (error) {
    report(error);
    await reloadAfterConflict(error, loadUnmatched, "conflict_contact");
  }
}

async function loadCustomerTimeline(customerId) {
  try {
    state.customerTimeline = await api("GET", `api/customers/${encodeURIComponent(customerId)}/timeline`);
    renderCustomerTimeline();
  } catch (error) {
    report(error);
  }
}

function renderCustomerTimeline() {
  const { customer, events, ticket_ids: ticketIds } = state.customerTimeline;
  facts($("customer-identity"), [
    [t("customer_contact"), `${customer.display_name ? `${customer.display_name} – ` : ""}${customer.value}`],
    [t("customer_id"), customer.id],
  ]);
  renderTimeline($("customer-events"), events);
  $("customer-tickets").replaceChildren(
    ...(ticketIds.length === 0 ? [el("li", {}, "–")] : [...ticketIds].reverse().map((id) => el("li", {}, ticketLink(id)))),
  );
}

// ---------- actions ----------

async function act(path, body, successKey, extraHeaders) {
  const ticketId = state.ticket.ticket.id;
  try {
    await api("POST", `api/tickets/${encodeURIComponent(ticketId)}/${path}`, body, extraHeaders);
    await reloadAfterSuccess(() => loadTicket(ticketId), successKey);
    return true;
  } catch (error) {
    report(error);
    await reloadAfterConflict(error, () => loadTicket(ticketId), "conflict_ticket");
    return false;
  }
}

async function checkSend(requestId, customerGotIt) {
  const path = `unconfirmed-sends/${encodeURIComponent(requestId)}/checked`;
  // Nothing is sent again: a customer who did not get the mail gets the operator's own reply, on a closed ticket
  // after reopening it (the reply form is not shown there).
  const closed = state.ticket.ticket.status === "closed";
  const notReceived = closed ? "done_send_not_received_closed" : "done_send_not_received";
  const done = customerGotIt ? "done_send_received" : notReceived;
  if ((await act(path, { customer_got_it: customerGotIt }, done)) && !customerGotIt && !closed) {
    $("reply-text").focus();
  }
}

function onSubmit(formId, handler) {
  $(formId).addEventListener("submit", (event) => {
    event.preventDefault();
    handler(event);
  });
}

function wireActions() {
  $("claim").addEventListener("click", () => act("claim", undefined, "done_claimed"));
  $("close-ticket").addEventListener("click", () => act("close", undefined, "done_closed"));
  $("reopen-ticket").addEventListener("click", () => act("reopen", undefined, "done_reopened"));
  onSubmit("suggestion-form", (event) => {
    const body = { decision: event.submitter?.value || "approved" };
    const comment = $("suggestion-comment").value.trim();
    if (comment) body.comment = comment;
    act("suggestion", body, body.decision === "approved" ? "done_approved" : "done_rejected");
  });
  onSubmit("label-form", async () => {
    const body = {};
    const category = $("label-category").value.trim();
    const emotional = $("label-emotional").value;
    if (category) body.category = category;
    if (emotional) body.high_emotional_load = emotional === "true";
    if (await act("labels", body, "done_label")) $("label-form").reset();
  });
  onSubmit("reply-form", async () => {
    // One Idempotency-Key per reply: a second click or a retry of the same text queues it once.
    const text = $("reply-text").value;
    if (state.pendingReply?.text !== text) state.pendingReply = { text, key: crypto.randomUUID() };
    const close = $("reply-close").checked;
    if (await act("reply", { text, close }, "done_reply", { "Idempotency-Key": state.pendingReply.key })) {
      $("reply-text").value = "";
      $("reply-close").checked = false;
      state.pendingReply = null;
    }
  });
  onSubmit("note-form", async () => {
    if (await act("notes", { text: $("note-text").value }, "done_note")) $("note-text").value = "";
  });
  onSubmit("reassign-form", () => act("reassign", { queue: $("reassign-queue").value }, "done_reassigned"));
  onSubmit("call-form", logCall);
  onSubmit("period-form", loadWorkload);
  $("open-report").addEventListener("click", openReport);
}

// ---------- start ----------

async function start() {
  const [config, strings] = await Promise.all(
    ["config.json", "strings.json"].map((file) => fetch(file).then((response) => response.json())),
  );
  state.config = config;
  state.strings = strings;
  const stored = localStorage.getItem(LANGUAGE_KEY);
  state.language = stored || ((navigator.language || "").toLowerCase().startsWith("nl") ? "nl" : "en");
  for (const button of document.querySelectorAll("button.lang")) {
    button.addEventListener("click", () => {
      state.language = button.dataset.lang;
      localStorage.setItem(LANGUAGE_KEY, state.language);
      applyLanguage();
    });
  }
  $("sign-in-form").addEventListener("submit", signIn);
  $("new-password-form").addEventListener("submit", setNewPassword);
  $("sign-out").addEventListener("click", () => signOut());
  onSubmit("filters", () => loadQueue(false));
  for (const select of $("filters").querySelectorAll("select")) select.addEventListener("change", () => loadQueue(false));
  $("load-more").addEventListener("click", () => loadQueue(true));
  wireActions();
  window.addEventListener("hashchange", () => {
    announce(); // what the status line and the error box said was about the view left behind
    route();
    $("main").focus();
  });
  setInterval(tickTimers, 1000);
  const saved = sessionStorage.getItem(TOKEN_KEY);
  applyLanguage();
  if (saved) startSession(saved);
  else route();
}

// Maybe before strings.json came: no key, the browser's message as it is.
start().catch((error) => showError(null, {}, { reason: `SupportPilot: ${error.message}` }));
