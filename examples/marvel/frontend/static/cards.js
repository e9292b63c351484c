// Each card's button replaces that card with one random character.
(function () {
  "use strict";

  function fill(card, data) {
    card.dataset.id = data.id;
    card.querySelector(".name").textContent = data.name;
    card.querySelector(".description").textContent = data.description || "";
    var art = card.querySelector(".art");
    art.src = data.image;
    art.alt = "Placeholder art for " + data.name;
    var list = card.querySelector(".comics");
    list.textContent = "";
    (data.comics || []).slice(0, 3).forEach(function (title) {
      var li = document.createElement("li");
      li.textContent = title;
      list.appendChild(li);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".reload");
    if (!button) {
      return;
    }
    var card = button.closest(".card");
    button.disabled = true;
    fetch("/api/characters/random", { headers: { Accept: "application/json" } })
      .then(function (resp) {
        if (!resp.ok) {
          throw new Error("HTTP " + resp.status);
        }
        return resp.json();
      })
      .then(function (data) { fill(card, data); })
      .catch(function (err) { button.textContent = "Try again (" + err.message + ")"; })
      .finally(function () { button.disabled = false; });
  });
})();
