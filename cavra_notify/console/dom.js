"use strict";
// The console's DOM and error helpers, shared by console.js and retries.js (loaded before both): every value
// becomes a text node or an attribute, never markup, so nothing from the evidence store can inject HTML.
window.CavraDom = Object.freeze({
  el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "onclick") node.addEventListener("click", value);
      else node.setAttribute(key, String(value));
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
    }
    return node;
  },

  // The API's one-line error of a failed response (its JSON "error"), else the HTTP status.
  async errorOf(response) {
    try {
      const body = await response.json();
      return body && body.error ? String(body.error) : `HTTP ${response.status}`;
    } catch {
      return `HTTP ${response.status}`;
    }
  },
});
