// The loyalty program page: the widget's preview follows the merchant's colours, point name, earning
// rule and launcher side as they type. Text goes in with textContent only; colours only when they are #rrggbb.
(function () {
  "use strict";
  var preview = document.querySelector("[data-preview]");
  var form = document.querySelector("[data-program-form]");
  if (!preview || !form) { return; }
  var field = function (name) { return form.querySelector('[name="' + name + '"]'); };
  var hex = /^#[0-9a-fA-F]{6}$/;
  var number = function (text) {
    var value = Number(String(text || "").trim().replace(",", "."));
    return isFinite(value) && value > 0 ? value : null;
  };
  var money = function (amount) {
    try {
      return new Intl.NumberFormat(preview.dataset.locale, { style: "currency", currency: preview.dataset.currency })
        .format(amount);
    } catch (e) { return amount + " " + preview.dataset.currency; }
  };
  var update = function () {
    var name = (field("point_name").value || "").trim();
    var points = number(field("earn_points").value);
    var per = number(field("earn_per").value);
    var word = name || (points === 1 ? preview.dataset.wordPoint : preview.dataset.wordPoints);
    preview.querySelector("[data-preview-name]").textContent = name || preview.dataset.wordPoints;
    var earn = preview.querySelector("[data-preview-earn]");
    earn.textContent = points && per ? preview.dataset.earnTemplate
      .replace("{points}", String(points).replace(".", preview.dataset.locale === "pl" ? "," : "."))
      .replace("{name}", word).replace("{amount}", money(per)) : "";
    var primary = field("primary_colour").value.trim();
    var text = field("text_colour").value.trim();
    var panel = preview.querySelector("[data-preview-panel]");
    var launcher = preview.querySelector("[data-preview-launcher]");
    [panel.querySelector("[data-preview-title]"), launcher].forEach(function (el) {
      if (hex.test(primary)) { el.style.backgroundColor = primary; }
      if (hex.test(text)) { el.style.color = text; }
    });
    preview.classList.toggle("loyalty-preview--left", field("launcher_position").value === "left");
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
}());
