// The integrity panel's progress bar: while a verification run is queued or running, ask the
// server for its progress twice a second, show it, and reload the page when the run is done
// (the page then shows the result, in red if the log failed).
const box = document.getElementById("verify-run");

async function poll() {
  const bar = document.getElementById("verify-progress");
  const text = document.getElementById("verify-progress-text");
  try {
    const response = await fetch(box.dataset.progressUrl, { cache: "no-store" });
    if (response.ok) {
      const state = await response.json();
      bar.value = state.percent;
      bar.textContent = `${state.percent}%`;
      text.textContent = state.total ? `${state.done} / ${state.total} (${state.percent}%)` : box.dataset.textRunning;
      if (!state.active) {
        text.textContent = box.dataset.textDone;
        window.location.reload();
        return;
      }
    }
  } catch {
    // The next poll tries again.
  }
  window.setTimeout(poll, 500);
}

if (box && box.dataset.active === "1") poll();
