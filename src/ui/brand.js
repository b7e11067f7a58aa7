// A vendor's branding (GET /api/v1/account, POST /api/v1/customer/license) as the pages use
// it: the fields whatever their spelling, colours only as #rrggbb, and the text colour that
// reads on a brand colour.

export function pickBranding(raw) {
  const b = raw && typeof raw === 'object' ? raw : {};
  const str = (...names) => {
    for (const n of names) if (typeof b[n] === 'string') return b[n];
    return '';
  };
  return {
    product_name: str('product_name', 'productName'),
    logo_url: str('logo_url', 'logoUrl'),
    primary_color: str('primary_color', 'primaryColor'),
    accent_color: str('accent_color', 'accentColor'),
    sender_name: str('sender_name', 'senderName'),
    reply_to: str('reply_to', 'replyTo'),
  };
}

export function hexColor(v) {
  return typeof v === 'string' && /^#[0-9a-fA-F]{6}$/.test(v) ? v.toLowerCase() : '';
}

function luminance(hex) {
  const c = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((x) => (x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

// White or black text on a brand colour, whichever contrasts more: one of them always reaches
// 4.5:1.
export function contrastText(hex) {
  const l = luminance(hex);
  return (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) ? '#ffffff' : '#000000';
}

// Only an https URL: never javascript:, data: or a plain-http resource on the page.
export function safeLogoUrl(url) {
  return /^https:\/\/[^\s]+$/i.test(url) ? url : '';
}

// Sets the page's brand colours (CSS variables): each branding colour that is #rrggbb, else the
// fallback given, else the stylesheet's own.
export function setBrandColors(b, fallbackPrimary = '', fallbackAccent = '') {
  const root = document.documentElement.style;
  const primary = hexColor(b.primary_color) || fallbackPrimary;
  if (primary) {
    root.setProperty('--brand', primary);
    root.setProperty('--brand-contrast', contrastText(primary));
  }
  const accent = hexColor(b.accent_color) || fallbackAccent;
  if (accent) root.setProperty('--accent', accent);
}
