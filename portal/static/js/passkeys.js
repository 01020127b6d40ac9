// Passkeys and security keys (WebAuthn) as a second factor: registration on the account's
// second-factor page, use at the second step of a login. The server sends the options as
// JSON and checks the answer; this file only hands them to navigator.credentials.
(function () {
  "use strict";

  function toBytes(base64url) {
    var base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) binary += String.fromCharCode(bytes[i]);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBytes(list) {
    return (list || []).map(function (item) {
      return Object.assign({}, item, { id: toBytes(item.id) });
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json, { challenge: toBytes(json.challenge) });
    options.user = Object.assign({}, json.user, { id: toBytes(json.user.id) });
    options.excludeCredentials = withBytes(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json, { challenge: toBytes(json.challenge) });
    options.allowCredentials = withBytes(json.allowCredentials);
    return options;
  }

  function credentialJSON(credential) {
    if (typeof credential.toJSON === "function") return credential.toJSON();
    var response = credential.response;
    var answer = { clientDataJSON: toBase64url(response.clientDataJSON) };
    if (response.attestationObject) {
      answer.attestationObject = toBase64url(response.attestationObject);
      if (response.getTransports) answer.transports = response.getTransports();
    } else {
      answer.authenticatorData = toBase64url(response.authenticatorData);
      answer.signature = toBase64url(response.signature);
      if (response.userHandle) answer.userHandle = toBase64url(response.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      response: answer,
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
    };
  }

  function post(url, token, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: body === undefined ? "{}" : JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(function (data) {
        if (!response.ok) throw new Error(data.error || response.statusText);
        return data;
      });
    });
  }

  function start(form, ceremony) {
    var status = form.querySelector("[data-passkey-status]");
    var token = form.querySelector("input[name=csrf_token]").value;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      status.textContent = "";
      post(form.dataset.optionsUrl, token)
        .then(function (options) { return ceremony(options, form); })
        .then(function (body) { return post(form.action, token, body); })
        .then(function (data) { window.location.assign(data.redirect); })
        .catch(function (error) {
          status.textContent = form.dataset.failedMessage + " " + (error.message || "");
        });
    });
    form.hidden = false;
  }

  if (!window.PublicKeyCredential || !navigator.credentials) return;

  document.querySelectorAll("form[data-passkey=register]").forEach(function (form) {
    start(form, function (options) {
      return navigator.credentials
        .create({ publicKey: creationOptions(options) })
        .then(function (credential) {
          var name = form.querySelector("input[name=name]");
          return { credential: credentialJSON(credential), name: name ? name.value : "" };
        });
    });
  });

  document.querySelectorAll("form[data-passkey=login]").forEach(function (form) {
    start(form, function (options) {
      return navigator.credentials
        .get({ publicKey: requestOptions(options) })
        .then(credentialJSON);
    });
  });
})();
