import { definePlugin, hasCjk } from '@kefu/core';

/** Where and when the shop is open; the server passes its config through the environment. */
export interface OpeningHours {
  /** An IANA time zone, e.g. `Asia/Shanghai`. */
  timeZone: string;
  /** Minutes after local midnight. */
  opensAt: number;
  closesAt: number;
}

/** What `businessStatus()` works out for one instant. */
export interface BusinessStatus {
  isOpen: boolean;
  /** The local wall-clock time, `HH:MM`. */
  localTime: string;
  /** Minutes until the next opening or closing. */
  minutesToChange: number;
}

const DEFAULT_ZONE = 'Asia/Shanghai';
const DEFAULT_HOURS = '09:00-21:00';
const DAY = 24 * 60;

function parseClock(clock: string): number {
  const [h, m] = clock.split(':').map(Number);

  return (h ?? 0) * 60 + (m ?? 0);
}

/** Reads `KEFU_TIMEZONE` and `KEFU_BUSINESS_HOURS` (`HH:MM-HH:MM`) at call time. */
export function openingHoursFromEnv(env: NodeJS.ProcessEnv = process.env): OpeningHours {
  const window = /^(\d{1,2}:\d{2})-(\d{1,2}:\d{2})$/.exec(env.KEFU_BUSINESS_HOURS ?? DEFAULT_HOURS);

  return {
    timeZone: env.KEFU_TIMEZONE ?? DEFAULT_ZONE,
    opensAt: parseClock(window?.[1] ?? '09:00'),
    closesAt: parseClock(window?.[2] ?? '21:00'),
  };
}

/**
 * Whether the shop is open at `now` in the configured zone. The wall clock
 * comes from `Intl.DateTimeFormat` with an explicit `timeZone`, so the
 * answer is the same whatever the process's `TZ` is.
 */
export function businessStatus(now: Date, hours: OpeningHours): BusinessStatus {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone: hours.timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(now);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  const local = hour * 60 + minute;
  // A window such as 22:00-06:00 runs past midnight.
  const isOpen =
    hours.opensAt <= hours.closesAt
      ? local >= hours.opensAt && local < hours.closesAt
      : local >= hours.opensAt || local < hours.closesAt;
  const next = isOpen ? hours.closesAt : hours.opensAt;

  return {
    isOpen,
    localTime: `${String(hour).padStart(2, '0')}:${String(minute).padStart(2, '0')}`,
    minutesToChange: (next - local + DAY) % DAY,
  };
}

function clock(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export default definePlugin({
  name: 'business-hours',
  version: '1.0.0',
  intents: [
    {
      name: 'hours.open',
      examples: [
        'what are your opening hours',
        'when are you open',
        'are you open now',
        'what time do you close',
        'business hours',
        'are you open on sunday',
        'when does customer service start',
        'is the shop open today',
        '营业时间',
        '你们几点上班',
        '现在营业吗',
        '几点关门',
        '客服什么时候在线',
        '周末营业吗',
        '今天开门吗',
      ],
      rules: [
        {
          priority: 1,
          match: { any: ['open', 'hours', 'close', '营业', '上班', '关门', '开门', '几点'] },
        },
      ],
    },
  ],
  handle(turn) {
    const hours = openingHoursFromEnv();
    const status = businessStatus(new Date(), hours);
    const window = `${clock(hours.opensAt)}-${clock(hours.closesAt)}`;

    if (hasCjk(turn.text)) {
      return status.isOpen
        ? `我们现在营业中（当地时间 ${status.localTime}），每天 ${window} 营业。`
        : `我们现在已下班（当地时间 ${status.localTime}），每天 ${window} 营业，欢迎届时再来。`;
    }

    return status.isOpen
      ? `We're open now (it's ${status.localTime} here, ${hours.timeZone}); hours are ${window} every day.`
      : `We're closed right now (it's ${status.localTime} in ${hours.timeZone}); ` +
          `we open daily ${window}.`;
  },
});
