import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkCatalog } from '../../../src/app/catalog/catalog-check.js';
import { readCatalogDir } from '../../../src/app/catalog/catalog-files.js';
import type { CatalogIssue } from '../../../src/app/catalog/catalog-document.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sealab-catalog-files-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
};

/** Every issue of the directory, as `sealab catalog validate` finds them. */
function issuesOf(opts: { contentManaged?: boolean } = {}): CatalogIssue[] {
  const read = readCatalogDir(dir);
  return [...read.issues, ...checkCatalog(read.sources, { contentManaged: opts.contentManaged ?? true }).issues];
}

const CONTENT = `content:
  - { id: sh-continue, type: shelf, title: Continue, platforms: [ios, android] }
  - { id: pd-brief, type: podcast, title: Brief, platforms: [ios, android] }
`;
const surface = (slots: string, extra = '') => `surfaces:
  - id: library
    name: Library
    description: The library tab
    platforms: [ios, android]
    dailyTraffic: 1000
    bucketCount: 1000
    salt: library-a
${extra}    slots:
${slots}`;
const SLOT = '      - { id: continue, name: Continue, position: 0, accepts: [shelf], defaultContentId: sh-continue }\n';

describe('catalog files: every problem names the file, the path inside it, the line and the fix', () => {
  it('a valid directory (nested, .yaml/.yml/.json, sorted) has no issue', () => {
    write('content.yml', CONTENT);
    write('surfaces/library.yaml', surface(SLOT));
    write('metrics/m.json', JSON.stringify({ metrics: [] }));
    write('notes.txt', 'not a catalog file');
    const read = readCatalogDir(dir);
    expect(read.sources.map((s) => s.file)).toEqual(['content.yml', 'metrics/m.json', 'surfaces/library.yaml']);
    expect(issuesOf()).toEqual([]);
  });

  it('bad YAML syntax: the file and line, nothing parsed from it', () => {
    write('content.yaml', CONTENT);
    write('surfaces.yaml', 'surfaces:\n  - id: library\n    platforms: [ios, android\n    salt: x\n');
    const [issue, ...rest] = issuesOf();
    expect(rest).toEqual([]);
    expect(issue).toMatchObject({ severity: 'error', file: 'surfaces.yaml', path: '', line: expect.any(Number) });
    expect(issue!.message).toMatch(/^not valid YAML: .*at line \d+, column \d+:$/);
    expect(issue!.line).toBeGreaterThanOrEqual(3);
  });

  it('a wrong type and a misspelt enum: the path down to the list item and the did-you-mean', () => {
    write('content.yaml', CONTENT);
    write(
      'surfaces.yaml',
      surface(`${SLOT}      - { id: promo, name: Promo, position: 1, accepts: [shelf, podcst], defaultContentId: pd-brief }\n`).replace(
        'dailyTraffic: 1000',
        'dailyTraffic: lots',
      ),
    );
    expect(issuesOf()).toEqual([
      {
        severity: 'error',
        file: 'surfaces.yaml',
        path: 'surfaces[0].dailyTraffic',
        line: 6,
        message: 'Invalid input: expected number, received string',
        hint: 'Write dailyTraffic as number (Expected unique units per day).',
      },
      {
        severity: 'error',
        file: 'surfaces.yaml',
        path: 'surfaces[0].slots[1].accepts[1]',
        line: 11,
        message: expect.stringMatching(/^Invalid option: expected one of/),
        hint: "Did you mean 'podcast'? Use one of: shelf, playlist, podcast, banner, album, mix.",
      },
    ]);
  });

  it('unknown keys, at the top and deep inside, are refused with the allowed ones', () => {
    write('content.yaml', `${CONTENT}widgets: []\n`);
    write('surfaces.yaml', surface(SLOT.replace('position: 0', 'positon: 0')));
    const issues = issuesOf();
    expect(issues.map((i) => [i.file, i.path, i.line, i.message])).toEqual([
      ['content.yaml', 'widgets', 4, "unknown top-level key 'widgets'"],
      ['surfaces.yaml', 'surfaces[0].slots[0].position', 10, 'Invalid input: expected number, received undefined'],
      ['surfaces.yaml', 'surfaces[0].slots[0].positon', 10, "unknown key 'positon'"],
    ]);
    expect(issues[1]!.hint).toBe('Add position: it is required.');
    expect(issues[2]!.hint).toBe("Did you mean 'position'? Allowed here: id, name, position, accepts, optional, defaultContentId.");
  });

  it('a duplicate id across files names both files', () => {
    write('a.yaml', CONTENT);
    write(
      'b/more.yaml',
      'content:\n  - { id: other, type: shelf, title: Other, platforms: [ios] }\n  - { id: pd-brief, type: podcast, title: Again, platforms: [ios] }\n',
    );
    expect(issuesOf()).toEqual([
      {
        severity: 'error',
        file: 'b/more.yaml',
        path: 'content[1]',
        line: 3,
        message: "content item 'pd-brief' is defined twice: in a.yaml (content[1]) and in b/more.yaml (content[1])",
        hint: 'Keep one definition: ids are unique across the whole catalog directory.',
      },
    ]);
  });

  it('an unknown default content, a default of a type the slot refuses, a default missing on a platform (warning)', () => {
    write('content.yaml', `${CONTENT}  - { id: sh-ios-only, type: shelf, title: iOS only, platforms: [ios] }\n`);
    write(
      'surfaces.yaml',
      surface(
        `${SLOT.replace('sh-continue', 'sh-continu')}      - { id: b, name: B, position: 1, accepts: [shelf], defaultContentId: pd-brief }\n      - { id: c, name: C, position: 2, accepts: [shelf], defaultContentId: sh-ios-only }\n`,
      ),
    );
    expect(issuesOf().map((i) => [i.severity, i.path, i.line, i.message, i.hint])).toEqual([
      [
        'error',
        'surfaces[0].slots[0].defaultContentId',
        10,
        "content item 'sh-continu' does not exist",
        "Did you mean 'sh-continue'? Name a content item of the catalog (content:) or add it.",
      ],
      [
        'error',
        'surfaces[0].slots[1].defaultContentId',
        11,
        "'pd-brief' is a podcast, which slot 'b' does not accept (shelf)",
        "Add 'podcast' to the slot's accepts, or choose a default of an accepted type.",
      ],
      [
        'warning',
        'surfaces[0].slots[2].defaultContentId',
        12,
        "'sh-ios-only' is not available on android, where surface 'library' runs: the slot shows nothing there by default",
        "Add android to the content item's platforms, or choose a default available everywhere the surface runs.",
      ],
    ]);
  });

  it('holdbacks outside the bucket space or overlapping, and ratios naming missing metrics', () => {
    write('content.yaml', CONTENT);
    write(
      'surfaces.yaml',
      surface(SLOT, '    holdbacks:\n      - { id: h1, name: H1, buckets: [[0, 100], [950, 1200]] }\n      - { id: h2, name: H2, buckets: [[50, 60]] }\n'),
    );
    write(
      'metrics.yaml',
      'metrics:\n  - { id: r, name: R, description: d, kind: ratio, direction: increase, isGuardrail: false, baselineMean: 1, baselineVariance: 1, numeratorId: startz }\n',
    );
    expect(issuesOf().map((i) => [i.file, i.path, i.message])).toEqual([
      ['metrics.yaml', 'metrics[0].denominatorId', 'a ratio metric needs denominatorId'],
      ['metrics.yaml', 'metrics[0].numeratorId', "metric 'startz' does not exist"],
      ['surfaces.yaml', 'surfaces[0].holdbacks[0].buckets[1]', 'holdback range [950, 1200) is not inside [0, 1000)'],
      ['surfaces.yaml', 'surfaces[0].holdbacks[1].buckets[0]', "holdback range [50, 60) overlaps [0, 100) of holdback 'h1'"],
    ]);
  });

  it('with a remote content delivery, content: in a file is refused with where content comes from', () => {
    write('content.yaml', CONTENT);
    expect(issuesOf({ contentManaged: false })).toEqual([
      {
        severity: 'error',
        file: 'content.yaml',
        path: 'content',
        line: 1,
        message: 'content items come from the content delivery system here (SEALAB_CONTENT_URL is set), not from catalog files',
        hint: 'Remove the content: list; register content in the content delivery system, which sealab syncs from.',
      },
    ]);
  });
});
