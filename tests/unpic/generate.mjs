// Prints, as JSON, the URLs that unpic's imgix provider makes for an image at the
// base URL given as the first argument: what a front end using unpic would request.
import { transformUrl } from "unpic";

const base = process.argv[2];
const asks = [
  { width: 400 },
  { width: 640, height: 480 },
  { width: 300, height: 300, format: "webp" },
  { width: 1080, format: "avif", quality: 70 },
];
console.log(JSON.stringify(asks.map((ask) => ({ ask, url: transformUrl({ url: base, provider: "imgix", ...ask }) }))));
