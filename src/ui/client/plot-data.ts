import type { RenderFunction } from '@observablehq/plot';

/**
 * A Plot `render` option that stamps each drawn element with data-* attributes from its datum, so
 * tests and assistive scripts read the exact numbers from the SVG (the view's DOM contract).
 */
export function stamp<T>(data: readonly T[], attrs: (d: T) => Record<string, string>): RenderFunction {
  return (index, scales, values, dimensions, context, next) => {
    const g = next?.(index, scales, values, dimensions, context);
    if (!g) return null;
    const nodes = [...g.children].filter((n): n is SVGElement => n instanceof SVGElement && n.tagName !== 'title');
    nodes.forEach((node, k) => {
      const d = data[index[k]];
      if (d === undefined) return;
      for (const [name, value] of Object.entries(attrs(d))) node.setAttribute(`data-${name}`, value);
    });
    return g;
  };
}
