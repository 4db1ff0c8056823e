/*
 * Forløbsguiden chat widget: the renderer. Loaded by widget.js (see its header); attaches
 * window.Forlobsguiden.render and knows nothing of sockets or storage.
 *
 * It builds the widget's DOM (launcher, panel, privacy notice, log, input) and draws the conversation: user
 * messages, bot text with its quick replies, the payload's ready-made source line and organisation cards
 * (the payload is the reply contract, docs/reply-contract.md). User and bot text only ever reach the page as
 * text nodes (textContent), never as HTML, and only http(s) links are made. What the person does comes back
 * through the callbacks given to create():
 *
 *   var view = Forlobsguiden.render.create({
 *     title: "Forløbsguiden", municipality: "Eksempelby Kommune", retention: "30 dage", color: "#0b5394",
 *     stylesheet: "https://<web app>/widget.css",  // optional: the widget stays hidden until it has loaded
 *     onSend: function (text, shown) {},  // typed, or a quick reply (its payload, and the title shown)
 *     onOpen: function (isOpen) {},  // the panel was opened or closed
 *     onDelete: function () {}  // "Slet samtalen", confirmed
 *   });
 *   view.mount();
 *   view.showHistory(entries);  // [{from: "user", text: …}, {from: "bot", message: {…bot_uttered…}}]
 *   view.showSent(text); view.showAnswer(message); view.setStatus(view.TEXT.offline);
 */
(function (ns) {
  "use strict";

  var TEXT = {
    launcher: "Spørg Forløbsguiden",
    region: "Chat med Forløbsguiden",
    close: "Luk",
    closeLabel: "Luk chatten",
    reset: "Slet samtalen",
    confirmReset: "Vil du slette samtalen og starte forfra? Det, du har skrevet, slettes både her og i " +
      "Forløbsguidens database, og links til huskelister fra samtalen holder op med at virke.",
    confirmYes: "Ja, slet samtalen",
    confirmNo: "Nej, fortsæt",
    resetFailed: "Samtalen kunne ikke slettes lige nu – intet er slettet. Prøv igen om lidt.",
    log: "Samtale",
    you: "Du skrev:",
    bot: "Forløbsguiden skrev:",
    inputLabel: "Skriv dit spørgsmål",
    placeholder: "Skriv dit spørgsmål …",
    send: "Send",
    typing: "Forløbsguiden skriver …",
    connecting: "Forbinder …",
    offline: "Forbindelsen er afbrudt. Jeg prøver igen – dine beskeder bliver sendt, når den er tilbage.",
    noServer: "Chatten er ikke sat op korrekt (mangler data-server-url).",
    restarted: "Samtalen er slettet i din browser og i Forløbsguidens database. Du kan starte forfra.",
    intro: "Hej! Jeg er en automatisk assistent – ikke et menneske. Jeg svarer på spørgsmål om børn og unge " +
      "med sjældne handicap – fx aflastning, overgangen til voksenlivet og hvem I kan kontakte. Jeg giver " +
      "vejledning; afgørelser træffer kommunen. Skriv dit spørgsmål med dine egne ord.",
    privacyShort: "Skriv ikke CPR-nummer, navne eller andre oplysninger, der kan vise, hvem I er. En sjælden " +
      "diagnose sammen med alder og by kan også vise det – skriv hellere \"en sjælden muskelsygdom\" end " +
      "diagnosens navn, hvis I vil være sikre.",
    privacySummary: "Hvad gemmes, og hvor længe?",
    privacyLong: "{municipality} gemmer samtalen (dine beskeder og svarene) i Forløbsguidens database, så " +
      "samtalen kan hænge sammen, og svarene kan blive bedre. CPR-numre, telefonnumre, e-mailadresser, " +
      "adresser og de fleste navne fjernes, før noget gemmes – men ikke alle navne, og helbredsoplysninger " +
      "kan ikke fjernes automatisk. Samtalen " +
      "slettes {retention} efter din sidste besked. Din browser husker samtalen, indtil du lukker fanen eller " +
      "trykker \"Slet samtalen\". Chatten bruger ikke cookies og henter intet fra andre hjemmesider.",
    organisations: "Organisationer, der kan hjælpe",
    website: "Hjemmeside",
    call: "Ring ",
    newWindow: " (åbner i et nyt vindue)",
    choices: "Svarmuligheder",
    // the thumbs are drawn as SVG with a text label (an emoji would depend on the visitor's fonts)
    feedback: { "/feedback_positive": "Ja", "/feedback_negative": "Nej" }
  };
  var DEFAULT_COLOR = "#0b5394";
  var SVG = "http://www.w3.org/2000/svg";  // the SVG namespace's name, never fetched

  // -- small helpers ------------------------------------------------------------------------------
  function validColor(value) {
    return /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(value || "") ? value : null;
  }

  function luminance(hex) {
    var h = hex.length === 4 ? hex.replace(/[0-9a-f]/gi, "$&$&").slice(1) : hex.slice(1);
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  /** A plain button (type="button", so that no host page's form is ever submitted by it). */
  function button(className, text) {
    var node = el("button", className, text);
    node.type = "button";
    return node;
  }

  /** A speech bubble drawn as SVG (an emoji would depend on the visitor's fonts). */
  function chatIcon() {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "fg-launcher-icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  /** A thumb up (or, turned, down) drawn as SVG, for the feedback buttons. */
  function thumbIcon(down) {
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("class", "fg-thumb" + (down ? " fg-thumb--down" : ""));
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(SVG, "path");
    path.setAttribute("d", "M2 10h4v11H2zM8 21V10l5-8 1.2.9c.5.4.7 1 .6 1.6L14 9h6.5c1.1 0 2 1 1.8 2.1l-1.6 8.1" +
      "c-.2.9-1 1.8-2 1.8z");
    path.setAttribute("fill", "currentColor");
    svg.appendChild(path);
    return svg;
  }

  function srOnly(text) {
    return el("span", "fg-sr-only", text);
  }

  /** The absolute URL if it is http(s), else null: a payload's `javascript:` or `data:` never becomes a link. */
  function safeUrl(value) {
    try {
      var url = new URL(String(value), window.location.href);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function link(href, label) {
    var a = el("a", "fg-link", label);
    a.href = href;
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(srOnly(TEXT.newWindow));
    return a;
  }

  /** Text with bare http(s) URLs turned into links; everything else stays a text node. */
  function linkified(text) {
    var fragment = document.createDocumentFragment();
    var pattern = /https?:\/\/[^\s<>"']+/g;
    var last = 0, match;
    while ((match = pattern.exec(text)) !== null) {
      var url = match[0].replace(/[.,;:!?)\]]+$/, "");
      var href = safeUrl(url);
      if (!href) continue;
      fragment.appendChild(document.createTextNode(text.slice(last, match.index)));
      fragment.appendChild(link(href, url));
      last = match.index + url.length;
      pattern.lastIndex = last;
    }
    fragment.appendChild(document.createTextNode(text.slice(last)));
    return fragment;
  }

  // -- the widget's DOM ---------------------------------------------------------------------------
  function create(options) {
    var config = {
      title: options.title || "Forløbsguiden",
      municipality: options.municipality || "Kommunen",
      retention: options.retention || "en begrænset periode",
      color: validColor(options.color) || DEFAULT_COLOR
    };
    var onSend = options.onSend || function () {};
    var onOpen = options.onOpen || function () {};
    var onDelete = options.onDelete || function () {};

    var root = el("aside", "fg-root");
    root.setAttribute("aria-label", TEXT.region);
    root.hidden = true;  // until widget.css has loaded (or failed to)
    root.style.setProperty("--fg-accent", config.color);
    root.style.setProperty("--fg-on-accent",
      contrast(config.color, "#ffffff") >= contrast(config.color, "#000000") ? "#ffffff" : "#000000");
    root.style.setProperty("--fg-link", contrast(config.color, "#ffffff") >= 4.5 ? config.color : "#1d1d1b");

    var launcher = button("fg-launcher");
    launcher.id = "fg-launcher";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "fg-panel");
    launcher.appendChild(chatIcon());
    launcher.appendChild(el("span", null, TEXT.launcher));

    var panel = el("div", "fg-panel");
    panel.id = "fg-panel";
    panel.hidden = true;
    panel.setAttribute("role", "region");
    panel.setAttribute("aria-labelledby", "fg-title");

    var header = el("div", "fg-header");
    var titles = el("div", "fg-titles");
    var heading = el("h2", "fg-title", config.title);
    heading.id = "fg-title";
    titles.appendChild(heading);
    titles.appendChild(el("p", "fg-subtitle", config.municipality));
    var closeButton = button("fg-header-button", TEXT.close);
    closeButton.setAttribute("aria-label", TEXT.closeLabel);
    header.appendChild(titles);
    header.appendChild(closeButton);

    // The privacy notice: in full until the first message, then one line with its disclosure (which repeats
    // the warning) and the button that deletes the conversation, away from "Luk".
    var privacy = el("div", "fg-privacy");
    privacy.appendChild(el("p", "fg-privacy-short", TEXT.privacyShort));
    var privacyBar = el("div", "fg-privacy-bar");
    var details = el("details");
    details.appendChild(el("summary", null, TEXT.privacySummary));
    details.appendChild(el("p", "fg-privacy-repeat", TEXT.privacyShort));
    details.appendChild(el("p", null, TEXT.privacyLong
      .replace("{municipality}", config.municipality).replace("{retention}", config.retention)));
    var resetButton = button("fg-reset", TEXT.reset);
    privacyBar.appendChild(details);
    privacyBar.appendChild(resetButton);
    privacy.appendChild(privacyBar);
    var confirmBox = el("div", "fg-confirm");
    confirmBox.setAttribute("role", "group");
    confirmBox.setAttribute("aria-labelledby", "fg-confirm-text");
    confirmBox.hidden = true;
    var confirmText = el("p", null, TEXT.confirmReset);
    confirmText.id = "fg-confirm-text";
    var confirmYes = button("fg-confirm-yes", TEXT.confirmYes);
    var confirmNo = button("fg-confirm-no", TEXT.confirmNo);
    confirmBox.appendChild(confirmText);
    confirmBox.appendChild(confirmYes);
    confirmBox.appendChild(confirmNo);
    privacy.appendChild(confirmBox);

    var log = el("div", "fg-log");
    log.setAttribute("role", "log");
    log.setAttribute("aria-live", "polite");
    log.setAttribute("aria-relevant", "additions");
    log.setAttribute("aria-label", TEXT.log);
    log.tabIndex = 0;

    var typing = el("p", "fg-typing");
    typing.setAttribute("role", "status");
    var status = el("p", "fg-status");
    status.setAttribute("role", "status");

    var form = el("form", "fg-form");
    var label = el("label", "fg-sr-only", TEXT.inputLabel);
    label.htmlFor = "fg-input";
    var input = el("input", "fg-input");
    input.id = "fg-input";
    input.type = "text";
    input.autocomplete = "off";
    input.maxLength = 2000;
    input.placeholder = TEXT.placeholder;
    var sendButton = el("button", "fg-send", TEXT.send);
    sendButton.type = "submit";
    form.appendChild(label);
    form.appendChild(input);
    form.appendChild(sendButton);

    panel.appendChild(header);
    panel.appendChild(privacy);
    panel.appendChild(log);
    panel.appendChild(typing);
    panel.appendChild(status);
    panel.appendChild(form);
    root.appendChild(panel);
    root.appendChild(launcher);

    // -- rendering (the same for live messages and for the history after a reload) --------------
    var turn = newTurn();
    var follow = true;  // bring the newest answer into view; false once the reader scrolls while waiting
    var typingTimer = null;

    function newTurn() {
      return { first: null, message: null, bubbles: [], linkButtons: [] };
    }

    function scrollToEnd() {
      log.scrollTop = log.scrollHeight;
    }

    /** The first line of the newest answer at the top of the visible log (a long answer starts in view). */
    function showAnswerStart() {
      if (!turn.first) return scrollToEnd();
      var offset = turn.first.getBoundingClientRect().top - log.getBoundingClientRect().top;
      log.scrollTop += offset - 8;
    }

    /** Quick replies of earlier turns stay visible as history but are done with; their links leave the tab
     * order, so that the controls a keyboard meets do not grow with the conversation. */
    function retireEarlierTurns() {
      Array.prototype.forEach.call(log.querySelectorAll("button.fg-choice"), function (choice) {
        choice.disabled = true;
      });
      Array.prototype.forEach.call(log.querySelectorAll("a"), function (a) {
        a.tabIndex = -1;
      });
      Array.prototype.forEach.call(log.querySelectorAll("summary"), function (summary) {
        summary.tabIndex = -1;
      });
    }

    function addMessage(from, text) {
      var message = el("div", "fg-msg fg-msg--" + from);
      message.appendChild(srOnly(from === "user" ? TEXT.you : TEXT.bot));
      var bubble = el("p", "fg-bubble");
      bubble.appendChild(from === "bot" ? linkified(text) : document.createTextNode(text));
      message.appendChild(bubble);
      log.appendChild(message);
      return message;
    }

    function renderUser(text) {
      retireEarlierTurns();
      turn = newTurn();
      addMessage("user", text);
      privacy.classList.add("fg-privacy--compact");
    }

    function renderChoices(message, replies) {
      var group = el("div", "fg-choices");
      group.setAttribute("role", "group");
      group.setAttribute("aria-label", TEXT.choices);
      replies.forEach(function (reply) {
        var title = String(reply.title || reply.payload || "");
        if (reply.type === "web_url") {
          var href = safeUrl(reply.url);
          if (!href) return;
          var a = link(href, title);
          a.className = "fg-choice fg-choice--link";
          turn.linkButtons.push(a);
          group.appendChild(a);
          return;
        }
        var payload = String(reply.payload || title);
        var feedback = TEXT.feedback[payload];
        var choice = button("fg-choice", feedback ? null : title);
        if (feedback) {
          choice.classList.add("fg-choice--feedback");
          choice.appendChild(thumbIcon(payload === "/feedback_negative"));
          choice.appendChild(el("span", null, feedback));
        }
        choice.addEventListener("click", function (event) {
          onSend(payload, feedback || title);
          focusAfterChoice(event);
        });
        group.appendChild(choice);
      });
      if (group.childNodes.length) message.appendChild(group);
    }

    /** The payload's ready-made source line (docs/reply-contract.md): the paragraph of the reply that says
     * the same in plain text becomes the linked line; without one, the line is added to the reply. Only
     * parts with an http(s) `url` become links. */
    function renderSourceLine(parts) {
      var plain = parts.map(function (part) { return String(part && part.text || ""); }).join("");
      var line = null;
      turn.bubbles.forEach(function (bubble) {
        if (bubble && bubble.textContent.trim() === plain.trim()) line = bubble;
      });
      if (!line && !turn.message) return;
      if (line) line.textContent = "";
      else line = turn.message.appendChild(el("p", "fg-bubble"));
      line.classList.add("fg-source");
      parts.forEach(function (part) {
        var text = String(part && part.text || "");
        var href = part && part.url && safeUrl(part.url);
        line.appendChild(href ? link(href, text) : document.createTextNode(text));
      });
    }

    function renderOrganisations(organisations, kind) {
      var box = el("details", "fg-orgs");
      box.open = kind === "organisations";
      box.appendChild(el("summary", null, TEXT.organisations + " (" + organisations.length + ")"));
      var list = el("ul");
      organisations.forEach(function (org) {
        var item = el("li", "fg-org");
        item.appendChild(el("span", "fg-org-name", org.name || org.id));
        var href = org.url && safeUrl(org.url);
        if (href) {
          var a = link(href, TEXT.website);
          a.insertBefore(srOnly(" " + (org.name || "")), a.lastChild);
          item.appendChild(a);
          turn.linkButtons.forEach(function (linkButton) {  // the card replaces the reply's link button
            var group = linkButton.parentNode;
            if (linkButton.href !== href || !group) return;
            group.removeChild(linkButton);
            if (!group.childNodes.length) group.parentNode.removeChild(group);
          });
        }
        var phone = String(org.phone || "");
        if (phone.replace(/[^\d]/g, "").length >= 8) {
          var tel = el("a", "fg-link", TEXT.call + phone);
          tel.href = "tel:" + phone.replace(/[^\d+]/g, "");
          item.appendChild(tel);
        }
        list.appendChild(item);
      });
      box.appendChild(list);
      if (turn.message) turn.message.appendChild(box);
    }

    function renderBot(message) {
      if (!message || typeof message !== "object") return;
      if (typeof message.text === "string" && message.text.trim()) {
        var node = addMessage("bot", message.text);
        turn.message = node;
        if (!turn.first) turn.first = node;
        turn.bubbles.push(node.querySelector(".fg-bubble"));
        if (Array.isArray(message.quick_replies) && message.quick_replies.length) {
          renderChoices(node, message.quick_replies);
        }
      }
      var custom = message.custom;
      if (custom && typeof custom === "object") {
        if (Array.isArray(custom.source_line) && custom.source_line.length) renderSourceLine(custom.source_line);
        if (Array.isArray(custom.organisations) && custom.organisations.length) {
          renderOrganisations(custom.organisations, custom.kind);
        }
      }
    }

    function renderIntro() {
      addMessage("bot", TEXT.intro).classList.add("fg-msg--intro");
    }

    // After a quick reply, the keyboard (or mouse) goes on from the input; on a touch screen the log takes
    // focus instead, so that the on-screen keyboard does not cover the answer that is arriving.
    var lastPointer = "";
    function focusAfterChoice(event) {
      if (event && event.detail > 0 && lastPointer === "touch") log.focus({ preventScroll: true });
      else input.focus({ preventScroll: true });
    }

    function setTyping(on) {
      clearTimeout(typingTimer);
      typing.textContent = on ? TEXT.typing : "";
      typing.classList.toggle("fg-typing--on", on);
      if (on) typingTimer = setTimeout(function () { setTyping(false); }, 30000);
    }

    function setOpen(open, focus) {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", String(open));
      root.classList.toggle("fg-root--open", open);
      onOpen(open);
      if (open) {
        showAnswerStart();
        if (focus) input.focus();
      } else if (focus) {
        launcher.focus();
      }
    }

    function askToReset() {
      confirmBox.hidden = false;
      confirmNo.focus();
    }

    function closeConfirmation(focus) {
      confirmBox.hidden = true;
      if (focus) focus.focus();
    }

    // -- what the person does ---------------------------------------------------------------------
    launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
    closeButton.addEventListener("click", function () { setOpen(false, true); });
    resetButton.addEventListener("click", askToReset);
    confirmYes.addEventListener("click", function () {
      closeConfirmation(null);
      onDelete();
    });
    confirmNo.addEventListener("click", function () { closeConfirmation(resetButton); });
    panel.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      if (!confirmBox.hidden) closeConfirmation(resetButton);
      else setOpen(false, true);
    });
    panel.addEventListener("pointerdown", function (event) { lastPointer = event.pointerType || ""; }, true);
    // a reader who scrolls while an answer is on its way is not yanked back to it
    ["wheel", "touchmove"].forEach(function (name) {
      log.addEventListener(name, function () { follow = false; }, { passive: true });
    });
    log.addEventListener("keydown", function (event) {
      if (/^(Arrow|Page|Home|End)/.test(event.key)) follow = false;
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = input.value;
      input.value = "";
      onSend(text);
      input.focus({ preventScroll: true });
    });

    return {
      TEXT: TEXT,
      root: root,

      /** Puts the widget on the page; it shows once `options.stylesheet` has loaded (or failed to). */
      mount: function () {
        if (options.stylesheet) {
          var stylesheet = document.createElement("link");
          stylesheet.rel = "stylesheet";
          stylesheet.href = options.stylesheet;
          stylesheet.onload = stylesheet.onerror = function () { root.hidden = false; };
          document.head.appendChild(stylesheet);
        } else {
          root.hidden = false;
        }
        document.body.appendChild(root);
      },

      /** The conversation from the start (after a reload, or empty after "Slet samtalen"). */
      showHistory: function (entries) {
        log.textContent = "";
        turn = newTurn();
        privacy.classList.remove("fg-privacy--compact");
        renderIntro();
        (entries || []).forEach(function (entry) {
          if (!entry || typeof entry !== "object") return;
          if (entry.from === "user") renderUser(String(entry.text));
          else renderBot(entry.message);
        });
        showAnswerStart();
      },

      /** What the person just sent: shown, scrolled to, and the typing indicator on until the answer. */
      showSent: function (text) {
        renderUser(text);
        follow = true;
        scrollToEnd();
        setTyping(true);
      },

      /** One bot_uttered message; the answer's start is brought into view unless the reader scrolled away. */
      showAnswer: function (message) {
        setTyping(false);
        renderBot(message);
        if (follow) showAnswerStart();
      },

      setTyping: setTyping,
      setOpen: setOpen,
      setStatus: function (text) {
        status.textContent = text;
      },
      status: function () {
        return status.textContent;
      },
      focusInput: function () {
        input.focus();
      }
    };
  }

  ns.render = { TEXT: TEXT, create: create };
})(window.Forlobsguiden = window.Forlobsguiden || {});
