// lam's reads of a page, immune to DOM clobbering. A form's controls shadow the form's own
// properties and methods (a control named "action" makes form.action the control, one named
// "getAttribute" makes form.getAttribute the control), and named images and forms shadow
// the document's (an <img name="querySelectorAll"> makes document.querySelectorAll the image).
// Every read therefore goes through the getters and methods of the DOM's prototypes, taken
// once here, which the page's names cannot reach. Inlined where lam's page scripts say
// "/*@safe-dom*/" (lam.adapters.browser.snapshot.with_safe_dom); an expression whose value is
// an object of helpers.
(() => {
  const E = Element.prototype, N = Node.prototype, H = HTMLElement.prototype;
  const D = Document.prototype, F = DocumentFragment.prototype;
  const getter = (proto, name) => Object.getOwnPropertyDescriptor(proto, name).get;
  const localName = getter(E, "localName"), elId = getter(E, "id");
  const textContent = getter(N, "textContent"), nodeType = getter(N, "nodeType");
  const parentNode = getter(N, "parentNode"), parentElement = getter(N, "parentElement");
  const elChildren = getter(E, "children"), docChildren = getter(D, "children");
  const fragChildren = getter(F, "children"), shadowRoot = getter(E, "shadowRoot");
  const previous = getter(E, "previousElementSibling"), next = getter(E, "nextElementSibling");
  const editable = getter(H, "isContentEditable"), innerText = getter(H, "innerText");
  const host = getter(ShadowRoot.prototype, "host");
  const formAction = getter(HTMLFormElement.prototype, "action");
  const kind = (node) => nodeType.call(node);
  // The proto whose ParentNode methods fit a node (an element, a document, a shadow root).
  const parentProto = (node) => (kind(node) === 9 ? D : kind(node) === 11 ? F : E);
  return {
    attr: (el, name) => E.getAttribute.call(el, name),
    has: (el, name) => E.hasAttribute.call(el, name),
    tag: (el) => localName.call(el),
    id: (el) => elId.call(el),
    text: (node) => textContent.call(node),
    innerText: (el) => (el instanceof HTMLElement ? innerText.call(el) : textContent.call(el)),
    kind,
    parent: (node) => parentNode.call(node),
    parentElement: (node) => parentElement.call(node),
    children: (node) => (kind(node) === 9 ? docChildren : kind(node) === 11 ? fragChildren :
      elChildren).call(node),
    previous: (el) => previous.call(el),
    next: (el) => next.call(el),
    shadowRoot: (el) => shadowRoot.call(el),
    editable: (el) => el instanceof HTMLElement && editable.call(el),
    closest: (el, selector) => E.closest.call(el, selector),
    one: (root, selector) => parentProto(root).querySelector.call(root, selector),
    all: (root, selector) => parentProto(root).querySelectorAll.call(root, selector),
    byId: (root, id) => (kind(root) === 9 ? D : F).getElementById.call(root, id),
    rect: (el) => E.getBoundingClientRect.call(el),
    shown: (el, options) => E.checkVisibility.call(el, options),
    root: (node) => N.getRootNode.call(node),
    host: (root) => (root instanceof ShadowRoot ? host.call(root) : null),
    follows: (a, b) => N.compareDocumentPosition.call(a, b),
    walker: (root, what) => D.createTreeWalker.call(document, root, what),
    // A form's resolved action URL (the attribute, or the page's URL when it has none).
    formAction: (form) => formAction.call(form),
  };
})()
