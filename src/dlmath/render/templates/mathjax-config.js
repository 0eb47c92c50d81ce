// MathJax 3 settings for the dlmath reference page (loaded before es5/tex-svg.js).
// Only elements with class "mj" are typeset. Each formula gets MathJax's assistive MathML (read by
// screen readers; the SVG itself is aria-hidden). The context menu is off: it would try to load
// further components. A TeX error is reported on the console, which the browser tests treat as a
// failure.
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
    enableAssistiveMml: true,
  },
  startup: {
    pageReady: function () {
      return MathJax.startup.defaultPageReady().then(function () {
        document.documentElement.setAttribute("data-math", "ready");
      });
    },
  },
};
