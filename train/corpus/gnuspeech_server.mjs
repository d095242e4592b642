// Line-oriented GnuSpeech renderer for the corpus builder (one process per worker).
// argv[2]: the folder holding node_modules/@echogarden/gnuspeech-wasm (npm install --prefix).
// stdin: one JSON object per line {"text", "voice", "tempo", "out"}; stdout: "ok" or "error: ..." per line.
import { writeFile } from 'fs/promises'
import { createInterface } from 'readline'
import { pathToFileURL } from 'url'
import { join } from 'path'

const entry = join(process.argv[2], 'node_modules/@echogarden/gnuspeech-wasm/dist/exports/GnuSpeech.js')
const { synthesize } = await import(pathToFileURL(entry).href)

for await (const line of createInterface({ input: process.stdin })) {
	try {
		const job = JSON.parse(line)
		const { audioData } = await synthesize(job.text, { voice: job.voice, tempo: job.tempo })
		await writeFile(job.out, audioData)
		process.stdout.write('ok\n')
	} catch (error) {
		process.stdout.write('error: ' + String(error).replace(/\n/g, ' ') + '\n')
	}
}
