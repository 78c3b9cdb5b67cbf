// Our samplers under the names AUTOMATIC1111 1.9+ writes into "parameters": the sampler alone in
// `Sampler:` and the sigma schedule in `Schedule type:`. A1111 has no "PNDM" (it calls the method
// PLMS), and since 1.9 a bare "DPM++ 2M" (schedule "Automatic") means its default, Karras — so a
// plain DPM++ 2M must say which schedule it used.
//
// Schedule types: our Euler, Euler a, LMS and DPM++ 2M space their timesteps as diffusers'
// `linspace`, which is A1111's "Uniform" (k-diffusion's get_sigmas(n)). DDIM, PLMS and UniPC are
// A1111's timestep samplers, which do not use a schedule type, so they say "Automatic" as A1111's
// default infotext does.
import type { SchedulerName } from '../protocol/generationTypes.ts';

export interface A1111Sampler {
  /** The `Sampler:` value. */
  sampler: string;
  /** The `Schedule type:` value. */
  scheduleType: string;
}

const a1111Names: Record<SchedulerName, A1111Sampler> = {
  ddim: { sampler: 'DDIM', scheduleType: 'Automatic' },
  pndm: { sampler: 'PLMS', scheduleType: 'Automatic' },
  unipc: { sampler: 'UniPC', scheduleType: 'Automatic' },
  euler: { sampler: 'Euler', scheduleType: 'Uniform' },
  euler_a: { sampler: 'Euler a', scheduleType: 'Uniform' },
  lms: { sampler: 'LMS', scheduleType: 'Uniform' },
  dpmpp_2m: { sampler: 'DPM++ 2M', scheduleType: 'Uniform' },
  dpmpp_2m_karras: { sampler: 'DPM++ 2M', scheduleType: 'Karras' },
};

export function a1111Sampler(name: SchedulerName): A1111Sampler {
  return a1111Names[name];
}

// A1111's schedule labels (modules/sd_schedulers.py), which older infotexts append to the sampler
// name ("DPM++ 2M Karras") and which A1111 itself strips off again when it reads one.
const scheduleLabels = [
  'Automatic',
  'Uniform',
  'Karras',
  'Exponential',
  'Polyexponential',
  'SGM Uniform',
  'KL Optimal',
  'Align Your Steps',
  'Simple',
  'Normal',
  'DDIM',
  'Beta',
];

type Family = 'ddim' | 'pndm' | 'unipc' | 'euler' | 'euler_a' | 'lms' | 'dpmpp_2m';
const families: Record<string, Family> = {
  ddim: 'ddim',
  plms: 'pndm',
  pndm: 'pndm',
  unipc: 'unipc',
  euler: 'euler',
  'euler a': 'euler_a',
  lms: 'lms',
  'dpm++ 2m': 'dpmpp_2m',
};

/**
 * The sampler an infotext names, in either form: 1.9+ (`Sampler: DPM++ 2M, Schedule type: Karras`,
 * "Automatic" meaning the sampler's default) or the older combined names Letterpress and A1111
 * before 1.9 wrote (`Sampler: DPM++ 2M Karras`, `PNDM`, a bare `DPM++ 2M` meaning no Karras).
 * Undefined for a sampler or schedule we do not run.
 */
export function schedulerForA1111Sampler(sampler: string, scheduleType?: string): SchedulerName | undefined {
  let name = sampler.trim().toLowerCase();
  let schedule = scheduleType?.trim().toLowerCase();
  for (const label of scheduleLabels) {
    const suffix = ` ${label.toLowerCase()}`;
    if (name.endsWith(suffix)) {
      name = name.slice(0, -suffix.length);
      schedule = label.toLowerCase();
      break;
    }
  }
  const family = families[name];
  switch (family) {
    case undefined:
      return undefined;
    case 'ddim':
    case 'pndm':
    case 'unipc':
      // Timestep samplers: A1111 does not apply a schedule type to them.
      return family;
    case 'dpmpp_2m':
      // No schedule type at all is the pre-1.9 form, where the Karras variant had its own name.
      if (schedule === undefined || schedule === 'uniform') return 'dpmpp_2m';
      if (schedule === 'karras' || schedule === 'automatic') return 'dpmpp_2m_karras';
      return undefined;
    default:
      return schedule === undefined || schedule === 'automatic' || schedule === 'uniform' ? family : undefined;
  }
}
