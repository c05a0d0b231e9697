// Cairn embed: <cairn-uploader> and <cairn-browser> put the registry's web app in an iframe of
// any page the registry lets frame it (`cairn serve --frame-ancestor https://dash.example`).
//
//   <script src="https://cairn.example/embed.js"></script>
//   <cairn-uploader entity="acme" project="vision" artifact="train-set" type="dataset"
//                   accept=".parquet,.csv"></cairn-uploader>
//   <script>
//     const up = document.querySelector("cairn-uploader");
//     // a short-lived token for this project, minted by the dashboard's backend
//     // (POST /api/v1/tokens {entity, project, role: "write", expires_in: 900})
//     up.tokenProvider = () => fetch("/my-backend/cairn-token").then(r => r.text());
//     up.addEventListener("cairn-version-created", e => console.log(e.detail.version, e.detail.digest));
//   </script>
//
// Attributes: registry (default: where this script came from), entity, project, artifact,
// base (uploader: a version to draft from, e.g. "latest" or "v3"), version (browser), type,
// accept, readonly. Properties: token, or tokenProvider (a function returning a token or a
// promise of one; called whenever the frame asks). Events (detail = the message): cairn-ready,
// cairn-progress ({hashing, uploading}: {done, total} bytes), cairn-version-created ({entity,
// project, artifact, version, index, digest, created, aliases}), cairn-error ({message}),
// cairn-resize ({height}; the frame is sized to its content). Theming: set --cairn-accent,
// --cairn-bg, --cairn-fg, --cairn-font, --cairn-muted or --cairn-border on the element.
// Messages go only to the registry's origin and are taken only from this element's frame.
(() => {
  "use strict";
  if (window.customElements.get("cairn-uploader")) return;
  const origin = document.currentScript ? new URL(document.currentScript.src).origin : location.origin;
  const THEME = ["--cairn-accent", "--cairn-bg", "--cairn-fg", "--cairn-font", "--cairn-muted", "--cairn-border"];
  const seg = (v) => encodeURIComponent(v || "");

  class CairnFrame extends HTMLElement {
    constructor() {
      super();
      this._token = null;
      this._provider = null;
      this._ready = false;
      this._onMessage = this._onMessage.bind(this);
    }
    get registry() { return new URL(this.getAttribute("registry") || origin).origin; }
    get token() { return this._token; }
    set token(t) { this._token = t; this._send(); }
    get tokenProvider() { return this._provider; }
    set tokenProvider(f) { this._provider = f; this._send(); }

    connectedCallback() {
      window.addEventListener("message", this._onMessage);
      if (this._frame) return;
      const root = this.attachShadow({ mode: "open" });
      const style = document.createElement("style");
      style.textContent = ":host{display:block}iframe{border:0;width:100%;height:160px;display:block}";
      this._frame = document.createElement("iframe");
      this._frame.title = "Cairn";
      this._frame.src = this._src();
      root.append(style, this._frame);
    }
    disconnectedCallback() { window.removeEventListener("message", this._onMessage); }

    _src() {
      const q = new URLSearchParams({ host: location.origin });
      for (const a of ["artifact", "type", "accept", "readonly"]) {
        const v = this.getAttribute(a);
        if (v !== null) q.set(a, v || "1");
      }
      return `${this.registry}/embed${this._path()}?${q}`;
    }
    _project() { return `/${seg(this.getAttribute("entity"))}/${seg(this.getAttribute("project"))}`; }

    _onMessage(ev) {
      if (ev.origin !== this.registry || !this._frame || ev.source !== this._frame.contentWindow) return;
      const m = ev.data;
      if (!m || typeof m.type !== "string" || !m.type.startsWith("cairn:")) return;
      const kind = m.type.slice("cairn:".length);
      if (kind === "ready") { this._ready = true; this._theme(); this._send(); }
      if (kind === "resize" && Number.isFinite(m.height)) this._frame.style.height = `${Math.ceil(m.height) + 2}px`;
      this.dispatchEvent(new CustomEvent(`cairn-${kind}`, { detail: m, bubbles: true, composed: true }));
    }
    _post(message) { if (this._ready) this._frame.contentWindow.postMessage(message, this.registry); }
    async _send() {
      if (!this._ready) return;
      let token = this._token;
      if (!token && this._provider) token = await this._provider();
      if (token) this._post({ type: "cairn:token", token: String(token).trim() });
    }
    _theme() {
      const style = getComputedStyle(this);
      const vars = {};
      for (const name of THEME) {
        const v = style.getPropertyValue(name).trim();
        if (v) vars[name] = v;
      }
      if (Object.keys(vars).length) this._post({ type: "cairn:theme", vars });
    }
  }

  class CairnUploader extends CairnFrame {
    _path() {
      const artifact = this.getAttribute("artifact"), base = this.getAttribute("base");
      return artifact && base ? `${this._project()}/${seg(artifact)}/${seg(base)}/draft` : `${this._project()}/new`;
    }
  }

  class CairnBrowser extends CairnFrame {
    _path() {
      const artifact = this.getAttribute("artifact"), version = this.getAttribute("version");
      if (!artifact) return this._project();
      return version ? `${this._project()}/${seg(artifact)}/${seg(version)}` : `${this._project()}/${seg(artifact)}`;
    }
  }

  window.customElements.define("cairn-uploader", CairnUploader);
  window.customElements.define("cairn-browser", CairnBrowser);
})();
