/*
 * Forløbsguiden chat widget: the connection to Rasa's socket.io channel. Loaded by widget.js (see its
 * header); attaches window.Forlobsguiden.client and knows nothing of the page or of storage.
 *
 * It speaks Rasa's events through the official socket.io-client (npm, served by the web app as
 * /vendor/socket.io.min.js; widget.js loads it and passes its `io` here), over WebSocket only:
 * - on every (re)connect it asks for its session (`session_request` with the stored id, or null for a new
 *   one) and is ready once the server answers `session_confirm`;
 * - messages (`user_uttered`) sent before that, or while the connection is down, wait in an outbox and go
 *   out in order once the session is confirmed again: never before, because the server takes a message only
 *   for a session the socket has joined;
 * - `forget_session` asks the server to delete the conversation; `session_forgotten` says whether it did,
 *   and after a deletion a new session is requested;
 * - `bot_uttered` messages are handed on as they came.
 *
 *   var client = Forlobsguiden.client.create({serverUrl: "https://rasa.example", socketPath: "/socket.io",
 *     sessionId: function () {…the stored id or null…}}, {
 *     offline: function () {}, session: function (id) {}, message: function (message) {},
 *     forgotten: function (deleted) {}
 *   });
 *   client.send("hej");  // may come before connect(): it waits in the outbox
 *   client.connect(io); client.forget(sessionId);
 */
(function (ns) {
  "use strict";

  /** io()'s URL and path for a server URL that may have a path of its own (Rasa behind a proxy at
   * https://example/rasa): io() would read that path as a socket.io namespace, so it goes into `path`. */
  function endpoint(serverUrl, socketPath) {
    var url = new URL(serverUrl, window.location.href);
    return {
      url: url.origin,
      path: url.pathname.replace(/\/+$/, "") + "/" + String(socketPath || "/socket.io").replace(/^\/+/, "")
    };
  }

  function create(options, on) {
    var socket = null, ready = false, outbox = [], retry = null, refusals = 0;

    function emit(name, data) {
      // socket.io-client would buffer an event sent while disconnected and send it on reconnect before our
      // session_request; the outbox keeps that order instead
      if (!socket || !socket.connected) return false;
      socket.emit(name, data);
      return true;
    }

    function emitMessage(text) {
      return emit("user_uttered", { message: text, session_id: options.sessionId() });
    }

    function requestSession() {
      ready = false;
      emit("session_request", { session_id: options.sessionId() || null });
    }

    function offline() {
      ready = false;
      on.offline();
      // socket.io-client reconnects by itself after a lost connection, but not when the server refused the
      // socket (a page origin not in FORLOB_ALLOWED_ORIGINS, say) or closed it: a deployment being fixed is
      // tried again, slowly
      if (!socket.active) {
        clearTimeout(retry);
        retry = setTimeout(function () { socket.connect(); }, Math.min(60000, 2000 * Math.pow(2, refusals)));
        refusals += 1;
      }
    }

    /** Connects with socket.io-client's `io` (loaded by widget.js once the page is up) and keeps connecting:
     * socket.io-client's own reconnect, with backoff. Throws only for a server URL that is no URL. */
    function connect(io) {
      var where = endpoint(options.serverUrl, options.socketPath);
      socket = io(where.url, { path: where.path, transports: ["websocket"] });
      socket.on("connect", function () {
        refusals = 0;
        requestSession();
      });
      socket.on("disconnect", offline);
      socket.on("connect_error", offline);
      socket.on("session_confirm", function (sessionId) {
        if (typeof sessionId !== "string" || !sessionId) return;
        on.session(sessionId);
        ready = true;
        while (outbox.length && emitMessage(outbox[0])) outbox.shift();
      });
      socket.on("bot_uttered", function (message) {
        on.message(message);
      });
      socket.on("session_forgotten", function (result) {
        var deleted = Boolean(result && result.deleted === true);
        if (deleted) outbox = [];
        else ready = true;  // nothing was deleted: the conversation goes on
        on.forgotten(deleted);
        if (deleted) requestSession();  // a new conversation gets a new session id
      });
    }

    return {
      connect: connect,

      /** Sends the message now if the session is confirmed, else once it is (also before connect()). */
      send: function (text) {
        if (!(ready && emitMessage(text))) outbox.push(text);
      },

      /** Asks the server to delete the conversation; false when it cannot be asked now (not connected). */
      forget: function (sessionId) {
        if (!(ready && sessionId && emit("forget_session", { session_id: sessionId }))) return false;
        ready = false;  // until the server has answered and a new session is confirmed
        return true;
      }
    };
  }

  ns.client = { create: create, endpoint: endpoint };
})(window.Forlobsguiden = window.Forlobsguiden || {});
