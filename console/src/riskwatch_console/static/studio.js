// RiskWatch rules studio: the condition editor (CodeMirror 5). Highlighting of the rule
// language, completion from the field catalogue (Ctrl-Space, or after a "."), and the API's
// check as you type: an error is marked at its line and column in the editor and said in
// words under it (#condition-error, aria-live). No inline script: the page hands over the
// catalogue as a JSON script element and the check's address as a data- attribute.
(function () {
  "use strict";

  function defineMode(CodeMirror) {
    CodeMirror.defineSimpleMode("riskwatch-rule", {
      start: [
        { regex: /"(?:[^\\"]|\\.)*"?/, token: "string" },
        { regex: /'(?:[^\\']|\\.)*'?/, token: "string" },
        { regex: /#.*/, token: "comment" },
        { regex: /\b(?:and|or|not|in)\b/, token: "keyword" },
        { regex: /\b(?:true|false|True|False)\b/, token: "atom" },
        { regex: /\b(?:count|sum|avg|max|min|distinct|abs|lower|hour|weekday|list)(?=\s*\()/, token: "builtin" },
        { regex: /\b(?:within|by|where)(?=\s*=)/, token: "attribute" },
        { regex: /\b(?:txn|customer|risk|score|warning|account|interaction|credit)\.[a-z0-9_]+/, token: "variable-2" },
        { regex: /-?\d+(?:\.\d+)?/, token: "number" },
        { regex: /==|!=|<=|>=|<|>|\+|-|\*|\//, token: "operator" },
        { regex: /[a-z_][a-z0-9_]*/i, token: "variable" }
      ],
      meta: { lineComment: "#" }
    });
  }

  function completionOf(textarea) {
    var source = document.getElementById(textarea.getAttribute("data-completion"));
    if (!source) return { fields: [], functions: [], keywords: [] };
    try { return JSON.parse(source.textContent || "{}"); } catch (e) { return { fields: [], functions: [], keywords: [] }; }
  }

  function hinter(catalogue) {
    var words = [];
    (catalogue.fields || []).forEach(function (field) {
      words.push({ text: field.path, displayText: field.path + "  · " + field.type, kind: "field" });
    });
    (catalogue.functions || []).forEach(function (name) {
      words.push({ text: name + "(", displayText: name + "(…)", kind: "function" });
    });
    (catalogue.keywords || []).forEach(function (name) {
      words.push({ text: name, displayText: name, kind: "keyword" });
    });
    return function (cm) {
      var cursor = cm.getCursor();
      var line = cm.getLine(cursor.line);
      var start = cursor.ch;
      while (start > 0 && /[\w.]/.test(line.charAt(start - 1))) start -= 1;
      var typed = line.slice(start, cursor.ch).toLowerCase();
      var list = words.filter(function (word) {
        return word.text.toLowerCase().indexOf(typed) === 0 && word.text !== typed;
      });
      return { list: list.slice(0, 60), from: CodeMirror.Pos(cursor.line, start), to: CodeMirror.Pos(cursor.line, cursor.ch) };
    };
  }

  function csrfToken() {
    var holder = document.body.getAttribute("hx-headers");
    try { return JSON.parse(holder || "{}")["X-CSRF-Token"] || ""; } catch (e) { return ""; }
  }

  // The words under the editor: "Line 2, column 14: unknown field txn.amout".
  function say(textarea, error) {
    var box = document.getElementById("condition-error");
    var ok = document.getElementById("condition-ok");
    var words = document.getElementById("condition-words");
    if (!box) return;
    if (!error) {
      box.hidden = true;
      box.textContent = "";
      box.removeAttribute("data-line");
      if (ok) ok.hidden = false;
      return;
    }
    var position = (words && words.getAttribute("data-position")) || "Line {line}, column {column}:";
    box.textContent = position.replace("{line}", error.line).replace("{column}", error.column) + " " + error.message;
    box.setAttribute("data-line", String(error.line));
    box.setAttribute("data-column", String(error.column));
    box.hidden = false;
    if (ok) ok.hidden = true;
  }

  function annotation(cm, error) {
    var line = Math.max(0, Math.min(cm.lineCount() - 1, (error.line || 1) - 1));
    var text = cm.getLine(line) || "";
    var ch = Math.max(0, Math.min(text.length, (error.column || 1) - 1));
    var end = ch;
    while (end < text.length && /[\w.]/.test(text.charAt(end))) end += 1;
    if (end === ch) end = Math.min(text.length, ch + 1);
    if (end === ch && ch > 0) ch -= 1;
    return { from: CodeMirror.Pos(line, ch), to: CodeMirror.Pos(line, end), message: error.message, severity: "error" };
  }

  function checker(textarea) {
    var address = textarea.getAttribute("data-validate");
    var latest = 0;
    return function (text, updateLinting, options, cm) {
      var asked = ++latest;
      if (!text.trim()) { say(textarea, null); updateLinting(cm, []); return; }
      fetch(address, {
        method: "POST",
        credentials: "same-origin",
        headers: { "content-type": "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({ condition: text })
      }).then(function (response) {
        var type = response.headers.get("content-type") || "";
        return type.indexOf("application/json") === 0 ? response.json() : { valid: true, errors: [] };
      }).then(function (answer) {
        if (asked !== latest) return; // a newer check is on its way
        var errors = answer.errors || [];
        say(textarea, errors[0] || null);
        updateLinting(cm, errors.map(function (error) { return annotation(cm, error); }));
      }).catch(function () { updateLinting(cm, []); });
    };
  }

  function attach(textarea) {
    var catalogue = completionOf(textarea);
    var cm = CodeMirror.fromTextArea(textarea, {
      mode: "riskwatch-rule",
      lineNumbers: true,
      lineWrapping: true,
      gutters: ["CodeMirror-lint-markers"],
      lint: { getAnnotations: checker(textarea), async: true, delay: 350 },
      extraKeys: {
        "Ctrl-Space": "autocomplete",
        // Tab leaves the editor (keyboard users must get out of it); Ctrl-Space completes.
        Tab: false,
        "Shift-Tab": false
      },
      hintOptions: { hint: hinter(catalogue), completeSingle: false },
      screenReaderLabel: (document.getElementById("condition-label") || {}).textContent || "Condition"
    });
    cm.on("inputRead", function (editor, change) {
      if (change.text && /[.\w]$/.test(change.text.join("")) && !editor.state.completionActive) {
        editor.showHint({ completeSingle: false });
      }
    });
    cm.on("change", function () { cm.save(); });
    textarea.form && textarea.form.addEventListener("submit", function () { cm.save(); });
    // An error the server found when the form was sent: marked at once.
    var line = textarea.getAttribute("data-error-line");
    if (line) {
      var error = { line: Number(line), column: Number(textarea.getAttribute("data-error-column") || "1"),
                    message: (document.getElementById("condition-error") || {}).textContent || "" };
      var mark = annotation(cm, error);
      cm.markText(mark.from, mark.to, { className: "CodeMirror-lint-mark-error" });
    }
    cm.getWrapperElement().setAttribute("data-editor", "ready");
    window.riskwatchRuleEditor = cm; // the browser tests type through it
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof window.CodeMirror === "undefined") return; // plain textarea still works
    defineMode(window.CodeMirror);
    document.querySelectorAll("textarea[data-validate]").forEach(attach);
  });

  // A running backtest job: its progress bar follows the job's events; when it is done
  // the page loads its result.
  document.addEventListener("htmx:sseMessage", function (event) {
    var target = event.target;
    if (target instanceof Element && target.matches("[data-backtest-done]")) {
      window.location.reload();
    }
  });
})();
