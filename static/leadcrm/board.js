/* Dragging cards between the board's columns with the mouse (progressive enhancement: each card's
   buttons move it with the keyboard, and without scripts). A drop submits the board's move form
   (#board-move: the card's buttons name it with form= and their URL with formaction=) to the card's
   URL with the column's status: htmx posts it and swaps the board, so the move goes through the same
   view and service as the buttons. Lost is not a column: it asks for a reason in the card's "Lost…". */
(function () {
  "use strict";
  var dragged = null;

  // A refused move (lost without a reason) answers 400 with the board and its message: show it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (event.detail.xhr.status === 400 && event.detail.target && event.detail.target.id === "lead-board") {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card[draggable=true]");
    if (!card) { return; }
    dragged = card;
    card.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-lead"));
  });
  document.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
    document.querySelectorAll(".board-column.is-target").forEach(function (c) { c.classList.remove("is-target"); });
  });
  document.addEventListener("dragover", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-column");
    if (!column) { return; }
    event.preventDefault();
    column.classList.add("is-target");
  });
  document.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest(".board-column");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("is-target"); }
  });
  document.addEventListener("drop", function (event) {
    var column = dragged && event.target.closest && event.target.closest(".board-column");
    if (!column) { return; }
    event.preventDefault();
    var from = dragged.closest(".board-column");
    var form = document.getElementById("board-move");
    var button = dragged.querySelector("button[formaction]");
    if (!form || !button || from === column) { return; }
    // The board's move form, sent to the card's URL with the column's status, as if a button of the card had been pressed.
    var url = button.getAttribute("formaction");
    var status = column.getAttribute("data-status");
    if (window.htmx) {
      window.htmx.ajax("POST", url, { source: form, target: "#lead-board", swap: "outerHTML", values: { status: status } });
      return;
    }
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = "status";
    input.value = status;
    form.appendChild(input);
    form.action = url;
    form.submit();
  });

  // Enter in a card's lost reason presses that card's "Mark lost" (the move form's default button does nothing).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches || !event.target.matches(".board-card input[name^=lost_reason_]")) { return; }
    var lost = event.target.closest(".board-card").querySelector("button[value=lost]");
    if (lost) { event.preventDefault(); lost.click(); }
  });
})();
