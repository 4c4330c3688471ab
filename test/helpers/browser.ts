import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's chromium (`apt-get install chromium`, as `.ci/run` does), driven by playwright-core (no browser download);
 * `MEDCLASS_CHROMIUM` names another build.
 */
export const CHROMIUM = process.env.MEDCLASS_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

/** How long a browser test waits for the page (a loaded 2-core machine is slow, never wrong). */
export const PAGE_TIMEOUT = 60_000;

/** Launches CHROMIUM; throws when it is missing, so a browser test fails instead of skipping (a skip is no pass). */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: the web-app tests need it (apt-get install chromium, or bash .ci/run; MEDCLASS_CHROMIUM names another build)`);
  }
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Collects the page's console errors and warnings and uncaught errors (a CSP violation shows up here). */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  return problems;
}

/** The few DOM members the page predicates read (the tests are type-checked without the DOM library). */
interface PageImage { hidden: boolean; complete: boolean; naturalWidth: number }
interface PageGlobals { document: { querySelector(selector: string): PageImage | null } }

/**
 * Waits until the `<img>` at `selector` is shown and decoded. Page predicates are always functions: playwright
 * re-evaluates a string predicate with `eval` on every poll after the first, which the web app's CSP (no
 * 'unsafe-eval') refuses, so a string fails whenever the page is slower than the first check.
 */
export async function waitForLoadedImage(page: Page, selector: string): Promise<void> {
  await page.waitForFunction((sel: string) => {
    const img = (globalThis as unknown as PageGlobals).document.querySelector(sel);
    return img !== null && !img.hidden && img.complete && img.naturalWidth > 0;
  }, selector, { timeout: PAGE_TIMEOUT });
}
