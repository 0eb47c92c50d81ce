// MathJax 3 settings for the dlmath reference page (loaded before es5/tex-svg.js).
// The page carries every formula as MathML, which the browser draws when JavaScript is off. Here
// MathJax does not search the page for TeX: each .math box's MathML is replaced by MathJax's SVG of
// the TeX kept in its annotation, so a formula is drawn once. Each SVG carries MathJax's assistive
// MathML for screen readers. The context menu is off: it would try to load further components. A
// TeX error is reported on the console, which the browser tests treat as a failure.
window.MathJax = {
  tex: {
    formatError: function (jax, err) {
      console.error("dlmath: TeX error: " + err.message);
      return jax.formatError(err);
    },
  },
  svg: { fontCache: "global" },
  options: { enableMenu: false, enableAssistiveMml: true },
  startup: {
    typeset: false,
    pageReady: function () {
      return MathJax.startup.defaultPageReady().then(function () {
        var done = Promise.resolve();
        document.querySelectorAll(".math").forEach(function (box) {
          var tex = box.querySelector('annotation[encoding="application/x-tex"]');
          if (!tex) return;
          var display = box.classList.contains("math-display");
          done = done.then(function () {
            return MathJax.tex2svgPromise(tex.textContent, { display: display }).then(function (svg) {
              box.replaceChildren(svg);
            });
          });
        });
        return done.then(function () {
          MathJax.startup.document.clear();
          MathJax.startup.document.updateDocument();
          document.documentElement.setAttribute("data-math", "ready");
        });
      });
    },
  },
};
