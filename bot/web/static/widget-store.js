/*
 * Forløbsguiden chat widget: the store. Loaded by widget.js (see its header); attaches
 * window.Forlobsguiden.store and touches neither the page nor the network.
 *
 * The widget's state lives in the browser's sessionStorage under one key per Rasa server: the session id,
 * the conversation (what was shown, so that a reload shows it again) and whether the panel was open. So a
 * reload keeps the conversation and closing the tab forgets it, as the privacy notice says. Where the
 * browser refuses sessionStorage (blocked, full, a sandboxed page), the state is kept in memory instead: the
 * conversation then lasts as long as the page.
 *
 *   var store = Forlobsguiden.store.open("forlobsguiden:https://rasa.example");
 *   store.remember({from: "user", text: "hej"});  // or {from: "bot", message: {…as bot_uttered sent it…}}
 *   store.history();  // the entries, oldest first (at most MAX_HISTORY)
 */
(function (ns) {
  "use strict";

  var MAX_HISTORY = 300;  // a long conversation must not fill the storage the page itself may need
  var memory = {};  // key → state, for when sessionStorage cannot be used

  function read(key) {
    try {
      var stored = JSON.parse(window.sessionStorage.getItem(key));
      return stored && typeof stored === "object" ? stored : {};
    } catch (e) {
      return memory[key] || {};
    }
  }

  function write(key, state) {
    memory[key] = state;
    try {
      window.sessionStorage.setItem(key, JSON.stringify(state));
    } catch (e) { /* storage full or blocked: keep the conversation in memory */ }
  }

  /** The state kept under `key`, read once; every change is written straight back. */
  function open(key) {
    var state = read(key);
    // what was stored may come from an older widget or another script: keep only what has the right shape
    state.history = Array.isArray(state.history) ? state.history : [];
    if (typeof state.sessionId !== "string" || !state.sessionId) delete state.sessionId;

    return {
      history: function () {
        return state.history;
      },
      remember: function (entry) {
        state.history.push(entry);
        if (state.history.length > MAX_HISTORY) state.history.splice(0, state.history.length - MAX_HISTORY);
        write(key, state);
      },
      /** The session id Rasa confirmed, or null before the first confirmation. */
      sessionId: function () {
        return state.sessionId || null;
      },
      setSessionId: function (sessionId) {
        state.sessionId = sessionId;
        write(key, state);
      },
      isOpen: function () {
        return Boolean(state.open);
      },
      setOpen: function (isOpen) {
        state.open = Boolean(isOpen);
        write(key, state);
      },
      /** A new conversation: history and session id are gone; whether the panel is open stays. */
      clear: function () {
        state = { history: [], open: Boolean(state.open) };
        write(key, state);
      }
    };
  }

  ns.store = { MAX_HISTORY: MAX_HISTORY, open: open };
})(window.Forlobsguiden = window.Forlobsguiden || {});
