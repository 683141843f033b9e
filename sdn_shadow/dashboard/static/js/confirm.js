// The confirmation every operator change asks for: what it does, and a reason to record.

const dialog = () => document.getElementById("confirm");

/** Ask to confirm `text`; the reason given, or null when cancelled (button or Escape). */
export function ask(text) {
  const d = dialog();
  const reason = d.querySelector("#confirm-reason");
  d.querySelector("#confirm-text").textContent = text;
  reason.value = "dashboard";
  return new Promise((resolve) => {
    const done = (value) => {
      d.removeEventListener("close", onClose);
      ok.removeEventListener("click", onOk);
      cancel.removeEventListener("click", onCancel);
      resolve(value);
    };
    const ok = d.querySelector("#confirm-ok");
    const cancel = d.querySelector("#confirm-cancel");
    const onOk = () => { d.returnValue = "ok"; d.close(); };
    const onCancel = () => { d.returnValue = "cancel"; d.close(); };
    const onClose = () => done(d.returnValue === "ok" ? reason.value.trim() || "dashboard" : null);
    d.returnValue = "cancel";
    ok.addEventListener("click", onOk);
    cancel.addEventListener("click", onCancel);
    d.addEventListener("close", onClose);
    d.showModal();
    cancel.focus();
  });
}
