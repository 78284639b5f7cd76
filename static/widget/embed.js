/*
 * dutychat embed script for host sites:
 *
 *   <script src="https://chat.example.org/static/widget/embed.js"
 *           data-lang="fi" data-position="right" data-colour="#5b2a86" async></script>
 *
 * data-lang is a default: the visitor's browser languages win over it unless the
 * host page adds data-lang-forced (docs/deploy.md, Embedding).
 *
 * The iframe is made, hidden, when the page loads: the widget inside it wakes only
 * when this tab already has a chat (its resume token is in the widget origin's
 * sessionStorage), resumes it in the background and reports unread replies, shown
 * on the launcher as a count (no preview, no sound).
 *
 * Adds a launcher button in a corner that opens the chat in an iframe served
 * from the chat origin. A classic script (not a module) because
 * document.currentScript, which tells us that origin, is null in modules.
 * All styling goes through the CSSOM (element.style), which a host page's
 * Content-Security-Policy does not block, unlike an injected <style>.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || window.__dutychatEmbed) return;
  window.__dutychatEmbed = true;

  var widgetOrigin = new URL(script.src, document.baseURI).origin;

  // The launcher is outside the iframe, so its few strings live here rather
  // than in the i18n catalogues (which would need a cross-origin fetch).
  var LABELS = {
    fi: { open: "Chat", close: "Sulje chat", title: "Anonyymi chat", unread: { one: "{n} uusi viesti", other: "{n} uutta viestiä" } },
    sv: { open: "Chatt", close: "Stäng chatten", title: "Anonym chatt", unread: { one: "{n} nytt meddelande", other: "{n} nya meddelanden" } },
    en: { open: "Chat", close: "Close chat", title: "Anonymous chat", unread: { one: "{n} new message", other: "{n} new messages" } },
    ru: { open: "Чат", close: "Закрыть чат", title: "Анонимный чат", unread: { other: "новых сообщений: {n}" } },
    th: { open: "แชท", close: "ปิดแชท", title: "แชทแบบไม่ระบุตัวตน", unread: { other: "ข้อความใหม่ {n} ข้อความ" } },
    es: { open: "Chat", close: "Cerrar el chat", title: "Chat anónimo", unread: { one: "{n} mensaje nuevo", other: "{n} mensajes nuevos" } },
    et: { open: "Vestlus", close: "Sulge vestlus", title: "Anonüümne vestlus", unread: { one: "{n} uus sõnum", other: "{n} uut sõnumit" } },
  };
  // The host's language (data-lang or data-language, else the page's lang) is a default: the
  // visitor's browser languages win, unless the host forces it (data-lang-forced).
  var hostLang = (script.getAttribute("data-lang") || script.getAttribute("data-language") || document.documentElement.lang || "")
    .toLowerCase()
    .split("-")[0];
  var forced = script.hasAttribute("data-lang-forced") || script.hasAttribute("data-language-forced");
  var browserLangs = (navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || ""]).map(
    function (tag) {
      return String(tag).toLowerCase().split("-")[0];
    },
  );
  var lang = hostLang;
  if (!forced || !LABELS[hostLang]) {
    for (var i = 0; i < browserLangs.length; i += 1) {
      if (LABELS[browserLangs[i]]) {
        lang = browserLangs[i];
        break;
      }
    }
  }
  var labelLang = LABELS[lang] ? lang : LABELS[hostLang] ? hostLang : "en";
  var labels = LABELS[labelLang];
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";
  var colourMatch = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(script.getAttribute("data-colour") || "");
  var colour = colourMatch ? colourMatch[0] : "#2f5d7c";

  function textColourFor(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h.replace(/./g, "$&$&");
    var lum = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 ? "#ffffff" : "#111111";
  }

  // style.display rather than the hidden attribute: host CSS such as
  // "div { display: block }" would override the attribute's default styling.
  function show(node, visible) {
    node.style.setProperty("display", visible ? "block" : "none", "important");
  }

  function isOpen() {
    return panel.style.getPropertyValue("display") === "block";
  }

  function setStyle(node, styles) {
    for (var key in styles) node.style.setProperty(key, styles[key]);
  }

  var panelId = "dutychat-panel-" + Math.random().toString(36).slice(2, 8);
  var launcher = document.createElement("button");
  launcher.type = "button";
  var launcherText = document.createElement("span");
  launcherText.textContent = labels.open;
  // The count of unread replies while the panel is closed; the launcher's name says it in words.
  var badge = document.createElement("span");
  badge.setAttribute("aria-hidden", "true");
  badge.className = "dutychat-badge";
  setStyle(badge, {
    display: "none",
    "margin-left": "8px",
    "min-width": "22px",
    padding: "1px 6px",
    "border-radius": "11px",
    background: "#b3261e",
    color: "#ffffff",
    font: "700 14px/20px system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    "text-align": "center",
  });
  // The count in words, for screen readers (part of the button's name, not an aria-label).
  var unreadText = document.createElement("span");
  setStyle(unreadText, {
    position: "absolute",
    width: "1px",
    height: "1px",
    margin: "-1px",
    padding: "0",
    overflow: "hidden",
    clip: "rect(0 0 0 0)",
    "white-space": "nowrap",
    border: "0",
  });
  launcher.appendChild(launcherText);
  launcher.appendChild(badge);
  launcher.appendChild(unreadText);
  var unread = 0;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", panelId);
  setStyle(launcher, {
    position: "fixed",
    bottom: "16px",
    "z-index": "2147483000",
    padding: "12px 20px",
    "min-height": "48px",
    "border-radius": "24px",
    border: "2px solid " + colour,
    background: colour,
    color: textColourFor(colour),
    font: "600 16px/1.2 system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif",
    "box-shadow": "0 2px 8px rgba(0,0,0,0.25)",
    cursor: "pointer",
  });
  launcher.style.setProperty(side, "16px");

  var panel = document.createElement("div");
  panel.id = panelId;
  show(panel, false);
  setStyle(panel, {
    position: "fixed",
    "z-index": "2147483001",
    background: "#ffffff",
    "box-shadow": "0 4px 24px rgba(0,0,0,0.3)",
    overflow: "hidden",
  });

  var iframe = null;

  // Full screen on phones (the launcher would cover the composer), a
  // floating panel above the launcher elsewhere.
  function layout() {
    var small = window.innerWidth < 520 || window.innerHeight < 560;
    if (small) {
      setStyle(panel, { top: "0", left: "0", right: "0", bottom: "0", width: "100%", height: "100%", "border-radius": "0" });
    } else {
      setStyle(panel, {
        top: "auto",
        bottom: "80px",
        width: "380px",
        height: Math.min(640, window.innerHeight - 100) + "px",
        "border-radius": "12px",
      });
      panel.style.setProperty(side, "16px");
      panel.style.setProperty(side === "left" ? "right" : "left", "auto");
    }
    show(launcher, !(small && isOpen()));
  }

  // The language's own plural rule picks the form ("1 new message", "2 new messages").
  function unreadLabel(count) {
    var forms = labels.unread;
    var category = "other";
    try {
      category = new Intl.PluralRules(labelLang).select(count);
    } catch (e) {
      /* no Intl: the general form */
    }
    return (forms[category] || forms.other).replace("{n}", String(count));
  }

  function renderLauncher() {
    var opened = isOpen();
    launcherText.textContent = opened ? labels.close : labels.open;
    var count = opened ? 0 : unread;
    badge.textContent = count > 99 ? "99+" : count > 0 ? String(count) : "";
    badge.style.setProperty("display", count > 0 ? "inline-block" : "none");
    unreadText.textContent = count > 0 ? ", " + unreadLabel(count) : "";
  }

  function tellVisibility() {
    if (iframe && iframe.contentWindow) {
      iframe.contentWindow.postMessage({ type: "dutychat:visibility", open: isOpen() }, widgetOrigin);
    }
  }

  function createIframe(inBackground) {
    var params = new URLSearchParams({ embed: "1" });
    if (LABELS[hostLang]) params.set("lang", hostLang);
    if (forced) params.set("lang_forced", "1");
    if (inBackground) params.set("bg", "1");
    if (colourMatch) params.set("colour", colour);
    iframe = document.createElement("iframe");
    iframe.src = widgetOrigin + "/widget/?" + params.toString();
    iframe.title = labels.title;
    // The host page's address is none of the chat server's business.
    iframe.referrerPolicy = "no-referrer";
    setStyle(iframe, { border: "0", width: "100%", height: "100%", display: "block" });
    iframe.addEventListener("load", tellVisibility);
    panel.appendChild(iframe);
  }

  function open() {
    if (!iframe) createIframe();
    show(panel, true);
    launcher.setAttribute("aria-expanded", "true");
    renderLauncher();
    tellVisibility();
    layout();
    iframe.focus();
  }

  function close() {
    // Hidden, not removed: the chat keeps running while the panel is closed.
    show(panel, false);
    launcher.setAttribute("aria-expanded", "false");
    renderLauncher();
    tellVisibility();
    layout();
    launcher.focus();
  }

  launcher.addEventListener("click", function () {
    if (!isOpen()) open();
    else close();
  });

  window.addEventListener("message", function (event) {
    if (event.origin !== widgetOrigin || !iframe || event.source !== iframe.contentWindow) return;
    var data = event.data || {};
    if (data.type === "dutychat:quick-exit" && typeof data.url === "string" && /^https?:\/\//i.test(data.url)) {
      panel.remove();
      launcher.remove();
      window.location.replace(data.url);
    } else if (data.type === "dutychat:close") {
      close();
    } else if (data.type === "dutychat:unread" && typeof data.count === "number" && data.count >= 0) {
      unread = Math.floor(data.count);
      renderLauncher();
    }
  });

  // Escape twice on the host page while the chat is open also exits quickly:
  // the widget then ends the chat, clears its storage and sends us back the URL.
  var lastEscape = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || !iframe || !isOpen()) return;
    var now = Date.now();
    if (now - lastEscape <= 1000) iframe.contentWindow.postMessage({ type: "dutychat:quick-exit-request" }, widgetOrigin);
    lastEscape = now;
  });

  window.addEventListener("resize", layout);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    layout();
    // Hidden until opened; it resumes a chat this tab has (after a reload) without a tap.
    if (!iframe) createIframe(true);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
