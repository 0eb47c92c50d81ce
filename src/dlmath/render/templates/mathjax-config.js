// MathJax 3 settings for the dlmath reference page (loaded before es5/tex-svg.js).
// Only elements with class "mj" are typeset; the MathML beside each formula is for screen readers,
// so MathJax's own assistive MathML and its menu stay off. A TeX error is reported on the console,
// which the page's browser tests treat as a failure.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: false,
    formatError: function (jax, err) {
      console.error("dlmath: TeX error: " + err.message);
      return jax.formatError(err);
    },
  },
  svg: { fontCache: "global" },
  options: {
    ignoreHtmlClass: "no-mj",
    processHtmlClass: "mj",
    enableMenu: false,
    menuOptions: { settings: { assistiveMml: false } },
  },
  startup: {
    pageReady: function () {
      return MathJax.startup.defaultPageReady().then(function () {
        document.documentElement.setAttribute("data-math", "ready");
      });
    },
  },
};
