// Passkeys on the pages: the one script they load, and only on the pages
// that offer passkeys. Without it (or in a browser without WebAuthn) the
// passkey parts stay hidden and the rest of the page works as before.
//
// A form marked data-passkey="get" asks its data-options-url for the
// options of a sign-in (posting its own fields, CSRF token included),
// runs navigator.credentials.get, puts the answer in its "credential"
// field and posts. A form marked data-passkey="create" holds the options
// of a registration in data-options, runs navigator.credentials.create,
// and posts the same way. Errors are written into the form's
// [data-passkey-status] element (role="alert"), in the words the page put
// in its data-msg-* attributes.
(function () {
  "use strict";
  if (!window.PublicKeyCredential || !navigator.credentials || !window.fetch) {
    return;
  }

  function fromB64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) {
      s += "=";
    }
    var bin = atob(s);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function toB64url(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    return (list || []).map(function (c) {
      var out = Object.assign({}, c);
      out.id = fromB64url(c.id);
      return out;
    });
  }

  function creationOptions(pk) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) {
      return PublicKeyCredential.parseCreationOptionsFromJSON(pk);
    }
    var o = Object.assign({}, pk);
    o.challenge = fromB64url(pk.challenge);
    o.user = Object.assign({}, pk.user, { id: fromB64url(pk.user.id) });
    o.excludeCredentials = decodeList(pk.excludeCredentials);
    return o;
  }

  function requestOptions(pk) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(pk);
    }
    var o = Object.assign({}, pk);
    o.challenge = fromB64url(pk.challenge);
    o.allowCredentials = decodeList(pk.allowCredentials);
    return o;
  }

  function credentialJSON(c) {
    if (typeof c.toJSON === "function") {
      return c.toJSON();
    }
    var r = c.response;
    var out = {
      id: c.id,
      rawId: toB64url(c.rawId),
      type: c.type,
      authenticatorAttachment: c.authenticatorAttachment || undefined,
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {},
      response: { clientDataJSON: toB64url(r.clientDataJSON) }
    };
    if (r.attestationObject) {
      out.response.attestationObject = toB64url(r.attestationObject);
      out.response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      out.response.authenticatorData = toB64url(r.authenticatorData);
      out.response.signature = toB64url(r.signature);
      if (r.userHandle) {
        out.response.userHandle = toB64url(r.userHandle);
      }
    }
    return out;
  }

  // failure is what the page says for a refused ceremony.
  function failure(form, err) {
    var name = err && err.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      return form.getAttribute("data-msg-cancelled");
    }
    if (name === "SecurityError") {
      return form.getAttribute("data-msg-address");
    }
    if (name === "InvalidStateError") {
      return form.getAttribute("data-msg-exists") || form.getAttribute("data-msg-failed");
    }
    if (err && err.pageMessage) {
      return err.pageMessage;
    }
    return form.getAttribute("data-msg-failed");
  }

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = text || "";
    }
  }

  function busy(form, on) {
    var button = form.querySelector("button");
    if (button) {
      button.disabled = on;
      button.setAttribute("aria-busy", on ? "true" : "false");
    }
  }

  function options(form) {
    if (form.getAttribute("data-passkey") === "create") {
      return Promise.resolve(JSON.parse(form.getAttribute("data-options")));
    }
    var fields = new URLSearchParams(new FormData(form));
    fields.delete("credential");
    return fetch(form.getAttribute("data-options-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
      body: fields
    }).then(function (res) {
      return res.json().catch(function () {
        return {};
      }).then(function (body) {
        if (!res.ok || !body.publicKey) {
          var e = new Error("options refused");
          e.pageMessage = body.error;
          throw e;
        }
        return body;
      });
    });
  }

  function ceremony(form, event) {
    event.preventDefault();
    say(form, "");
    busy(form, true);
    var create = form.getAttribute("data-passkey") === "create";
    options(form).then(function (o) {
      return create ?
        navigator.credentials.create({ publicKey: creationOptions(o.publicKey) }) :
        navigator.credentials.get({ publicKey: requestOptions(o.publicKey) });
    }).then(function (cred) {
      form.elements.namedItem("credential").value = JSON.stringify(credentialJSON(cred));
      form.submit();
    }).catch(function (err) {
      busy(form, false);
      say(form, failure(form, err));
    });
  }

  // A part is shown only on a page of its relying-party ID or under it:
  // elsewhere (http://127.0.0.1 for localhost, say) the browser refuses
  // the ceremony, and the notes say to open the usual address instead.
  function onRPID(rpID) {
    var host = location.hostname;
    return !!rpID && (host === rpID || host.slice(-rpID.length - 1) === "." + rpID);
  }
  var usable = false;
  var shown = document.querySelectorAll("[data-passkey-part]");
  for (var i = 0; i < shown.length; i++) {
    if (onRPID(shown[i].getAttribute("data-passkey-part"))) {
      shown[i].hidden = false;
      usable = true;
    }
  }
  var notes = document.querySelectorAll("[data-passkey-nojs]");
  for (var j = 0; j < notes.length; j++) {
    if (usable) {
      notes[j].hidden = true;
    } else if (notes[j].getAttribute("data-address-text")) {
      notes[j].textContent = notes[j].getAttribute("data-address-text");
    }
  }
  var forms = document.querySelectorAll("form[data-passkey]");
  for (var k = 0; k < forms.length; k++) {
    forms[k].addEventListener("submit", ceremony.bind(null, forms[k]));
  }
})();
