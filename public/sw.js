// tunelab's service worker: keeps the app and MNIST in the browser, so a classroom works offline
// after its first visit and a reload starts from the cache instead of the network.
//
// The app's files are kept per build: the post-build hook (.ci/finish-bundle.sh) writes the
// bundle's files into PRECACHE and their hash into VERSION, so a new build is a new service
// worker. It installs beside the running one and takes over once every tab of the old one is
// closed; then the old build's files are dropped. A page never mixes two builds' files.
//
// MNIST is kept apart, in a cache shared by every build (the images never change): the page puts
// the files there once it has read them (it may have fetched them before this worker was
// running), and this worker keeps any it fetches itself.

const VERSION = "dev";
const PRECACHE = [];
// Under `trunk serve` (the README's serve command) the sources change under a running page:
// there the network comes first and the cache only answers offline.
const NETWORK_FIRST = false;

const APP_CACHE = `tunelab-app-${VERSION}`;
const DATA_CACHE = "tunelab-data-1";
const isData = (path) => path.startsWith("mnist/");

self.addEventListener("install", (event) => {
  const appFiles = PRECACHE.filter((path) => !isData(path));
  // "./" is index.html as the page asked for it: what a navigation is answered with.
  event.waitUntil(caches.open(APP_CACHE).then((cache) => cache.addAll(["./", ...appFiles])));
  if (NETWORK_FIRST) self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      const stale = names.filter((name) => name.startsWith("tunelab-app-") && name !== APP_CACHE);
      await Promise.all(stale.map((name) => caches.delete(name)));
      // The first visit's page is controlled at once, so the files it fetches from now on are
      // answered (and MNIST kept) by this worker.
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  const scope = new URL(self.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return;
  const path = url.pathname.slice(scope.pathname.length);
  event.respondWith(answer(request, path));
});

async function answer(request, path) {
  // Any page of the app is index.html; the link's experiment travels in the fragment.
  const navigation = request.mode === "navigate";
  const fromCache = () => caches.match(navigation ? "./" : request, { ignoreSearch: navigation });
  if (NETWORK_FIRST) {
    try {
      const response = await fetch(request);
      if (response.ok) keep(isData(path) ? DATA_CACHE : APP_CACHE, navigation ? "./" : request, response.clone());
      return response;
    } catch (offline) {
      const cached = await fromCache();
      if (cached) return cached;
      throw offline;
    }
  }
  const cached = await fromCache();
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && isData(path)) keep(DATA_CACHE, request, response.clone());
  return response;
}

function keep(cacheName, key, response) {
  caches.open(cacheName).then((cache) => cache.put(key, response));
}
