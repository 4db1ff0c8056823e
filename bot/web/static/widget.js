/*
 * Forløbsguiden chat widget. Embed with one tag:
 *   <script src="https://<web app>/widget.js" data-server-url="https://<rasa server>" defer></script>
 * Options (data-attributes on that tag): data-server-url (required: where Rasa's socket.io runs),
 * data-municipality, data-retention ("30 dage"), data-title, data-primary-color ("#0b5394"),
 * data-socket-path ("/socket.io").
 *
 * This file is the loader and the controller. It loads the widget's other files from beside itself (its own
 * URL, so it works on a page of another origin too), in order, each attaching one object to
 * window.Forlobsguiden, then wires them together:
 *   widget-store.js   store   the conversation and session id in sessionStorage (memory when refused)
 *   widget-render.js  render  the DOM: panel, messages, quick replies, source line, organisations
 *   widget-client.js  client  the socket.io connection: session, outbox, events
 * and the official socket.io-client (vendor/socket.io.min.js: npm's socket.io-client, pinned in
 * package-lock.json and served by the web app), unless the page already has `io`. So nothing is loaded from
 * anywhere but the project's own servers, and there is no build step: each file reads on its own. Rasa's
 * events are session_request/session_confirm, user_uttered, bot_uttered, and our forget_session/
 * session_forgotten (bot/server/channels/socketio.py). The session id and the conversation are kept in
 * sessionStorage, so a reload keeps the conversation and closing the tab forgets it.
 */
(function () {
  "use strict";

  // currentScript only while this file runs: read it now, before anything is loaded
  var script = document.currentScript || document.querySelector("script[data-server-url]");
  var ns = window.Forlobsguiden = window.Forlobsguiden || {};
  if (!script || ns.widget || document.querySelector(".fg-root")) {
    return;  // embedded twice: one widget
  }
  ns.widget = {};  // filled in once started (the parts, for a developer in the console)

  var MODULES = ["widget-store.js", "widget-render.js", "widget-client.js"];
  var SOCKET_IO = "vendor/socket.io.min.js";
  var config = {
    serverUrl: (script.getAttribute("data-server-url") || "").replace(/\/+$/, ""),
    socketPath: script.getAttribute("data-socket-path") || "/socket.io",
    municipality: script.getAttribute("data-municipality"),
    retention: script.getAttribute("data-retention"),
    title: script.getAttribute("data-title"),
    color: script.getAttribute("data-primary-color")
  };

  function beside(name) {
    return new URL(name, script.src || window.location.href).href;
  }

  /** Adds a <script> for `src`; done(true) once it has run, done(false) if it could not be loaded. */
  function loadScript(src, done) {
    var tag = document.createElement("script");
    tag.src = src;
    tag.async = false;  // scripts added together run in the order they were added
    tag.onload = function () { done(true); };
    tag.onerror = function () {
      if (tag.parentNode) tag.parentNode.removeChild(tag);
      done(false);
    };
    (document.head || document.documentElement).appendChild(tag);
  }

  // -- the controller -------------------------------------------------------------------------------
  function start() {
    var store = ns.store.open("forlobsguiden:" + config.serverUrl);
    var TEXT = ns.render.TEXT;
    var view = ns.render.create({
      title: config.title,
      municipality: config.municipality,
      retention: config.retention,
      color: config.color,
      stylesheet: beside("widget.css"),
      onSend: sendMessage,
      onOpen: store.setOpen,
      onDelete: deleteConversation
    });

    var client = ns.client.create({
      serverUrl: config.serverUrl,
      socketPath: config.socketPath,
      sessionId: store.sessionId
    }, {
      offline: function () { view.setStatus(TEXT.offline); },
      session: function (sessionId) {
        store.setSessionId(sessionId);
        clearConnectionStatus();
      },
      message: function (message) {
        view.showAnswer(message);
        store.remember({ from: "bot", message: message });
      },
      forgotten: conversationForgotten
    });

    /** Connected: "Forbinder …" or the offline line goes; a status that answers the person's own action
     * ("Slet samtalen") stays until their next message. */
    function clearConnectionStatus() {
      var shown = view.status();
      if (shown !== TEXT.restarted && shown !== TEXT.resetFailed) view.setStatus("");
    }

    function sendMessage(text, shown) {
      text = String(text || "").trim();
      if (!text) return;
      var visible = shown || text;
      view.showSent(visible);
      store.remember({ from: "user", text: visible });
      if (view.status() === TEXT.restarted || view.status() === TEXT.resetFailed) view.setStatus("");
      client.send(text);  // now, or once connected (the outbox)
    }

    /** Deletes the conversation on the server (as `python -m bot privacy forget` does: its events and its
     * checklist links), then here, and says so; if the server cannot, nothing is deleted and it says that. */
    function deleteConversation() {
      if (!client.forget(store.sessionId())) {
        view.setStatus(TEXT.resetFailed);
        view.focusInput();
      }
    }

    function conversationForgotten(deleted) {
      if (deleted) {
        store.clear();
        view.showHistory([]);
        view.setTyping(false);
      }
      view.setStatus(deleted ? TEXT.restarted : TEXT.resetFailed);
      view.focusInput();
    }

    function connect(io) {
      try {
        client.connect(io);
      } catch (e) {  // a data-server-url that is no URL: said in the chat, never thrown at the page
        view.setStatus(TEXT.offline);
      }
    }

    /** socket.io-client, unless the page has it already; while it cannot be loaded (the web app is down),
     * the chat says it is offline and tries again, as it does for a lost connection. */
    function loadSocketIo(attempt) {
      if (typeof window.io === "function") return connect(window.io);
      loadScript(beside(SOCKET_IO), function (loaded) {
        if (loaded && typeof window.io === "function") return connect(window.io);
        view.setStatus(TEXT.offline);
        // loaded without setting window.io (a page with an AMD loader, define.amd, takes the bundle's UMD
        // export): loading it again would not help
        if (loaded) return;
        setTimeout(function () { loadSocketIo(attempt + 1); }, Math.min(10000, 1000 * Math.pow(2, attempt)));
      });
    }

    ns.widget = { store: store, view: view, client: client };
    view.mount();
    view.showHistory(store.history());
    view.setOpen(store.isOpen(), false);
    if (!config.serverUrl) {
      view.setStatus(TEXT.noServer);
      return;
    }
    view.setStatus(TEXT.connecting);
    loadSocketIo(0);
  }

  // -- load the parts, in order, then start ---------------------------------------------------------
  var waiting = MODULES.length, failed = false;
  MODULES.forEach(function (name) {
    loadScript(beside(name), function (loaded) {
      failed = failed || !loaded;
      waiting -= 1;
      // without its parts the widget cannot show anything, not even a status line: it stays away
      if (waiting === 0 && !failed && ns.store && ns.render && ns.client) start();
    });
  });
})();
