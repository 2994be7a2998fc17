/* Progressive enhancement only: every page works without this file.
 * - On a record page, bring the quoted passage into view and move focus to it, so keyboard
 *   and screen-reader users start reading where the search result pointed.
 * - On a page with form errors, move focus to the error summary (GOV.UK pattern).
 * - On the search page, results as you type (see resultsAsYouType).
 */
(function () {
  'use strict'

  var PAUSE_MS = 400

  function focusOnLoad () {
    var summary = document.querySelector('.govuk-error-summary')
    if (summary) {
      summary.focus()
      return
    }
    var cited = document.getElementById('cited')
    if (cited) {
      cited.scrollIntoView({ block: 'center' })
      cited.focus({ preventScroll: true })
    }
  }

  /* Results as you type. While the user types in the query box, the search runs for the text
   * typed so far each time a word is completed (a whitespace character typed right after a
   * non-blank character) and after PAUSE_MS without typing. Never for blank text, never twice
   * in a row for the same text and filters (the page's own results count as the first). Every
   * other field goes as the form would submit it. The answer is the server's rendering of the
   * results region alone (partial=1), through the same audited search as a submitted form.
   * Only the newest request counts: the previous one is aborted, and any answer that is not
   * for the newest is dropped. On success the region is replaced, the address becomes the
   * full-page URL of that search, and a polite live region says so; the input is never
   * touched. 401 (signed out) loads the full page, which goes to sign-in; anything else
   * (429, 400, 5xx, network) keeps the results shown, and Enter still submits the form.
   */
  function resultsAsYouType (form, box, status) {
    var timer = null
    var controller = null
    var latest = 0

    function params () {
      var values = new URLSearchParams(new FormData(form))
      values.set('q', box.value.trim())
      return values
    }

    var lastKey = params().toString()

    function clearErrors () {
      var summary = document.querySelector('.govuk-error-summary')
      if (!summary) return
      summary.remove()
      document.querySelectorAll('.govuk-error-message').forEach(function (el) { el.remove() })
      document.querySelectorAll('[aria-describedby]').forEach(function (el) {
        var ids = el.getAttribute('aria-describedby').replace(/\s*\S+-error\b/g, '')
        el.setAttribute('aria-describedby', ids.trim())
      })
      ;['govuk-form-group--error', 'govuk-input--error'].forEach(function (name) {
        document.querySelectorAll('.' + name).forEach(function (el) { el.classList.remove(name) })
      })
    }

    function show (html, url, text) {
      var region = document.getElementById('search-results')
      var parsed = document.createElement('template')
      parsed.innerHTML = html
      var fresh = parsed.content.getElementById('search-results')
      if (!region || !fresh || region.contains(document.activeElement)) return
      region.replaceWith(fresh)
      history.replaceState(history.state, '', url)
      document.title = fresh.getAttribute('data-title') || document.title
      clearErrors()
      status.textContent = 'Results updated for \u2018' + text + '\u2019'
    }

    function run () {
      clearTimeout(timer)
      var values = params()
      var text = values.get('q')
      var key = values.toString()
      if (!text || key === lastKey) return
      lastKey = key
      if (controller) controller.abort()
      controller = new AbortController()
      var id = ++latest
      var page = new URL(form.action)
      page.search = key
      var partial = new URL(page.href)
      partial.searchParams.set('partial', '1')
      fetch(partial.href, {
        signal: controller.signal,
        credentials: 'same-origin',
        redirect: 'manual',
        headers: { Accept: 'text/html' }
      }).then(function (response) {
        if (id !== latest) return
        if (response.status === 401 || response.type === 'opaqueredirect') {
          window.location.assign(page.href)
          return
        }
        if (response.status !== 200) return
        return response.text().then(function (html) {
          if (id === latest) show(html, page.href, text)
        })
      }).catch(function () {})
    }

    box.addEventListener('input', function (event) {
      if (event.isComposing) return
      clearTimeout(timer)
      var at = box.selectionEnd === null ? box.value.length : box.selectionEnd
      var typed = !/^delete/.test(event.inputType || '')
      if (typed && /\s/.test(box.value.charAt(at - 1)) && /\S/.test(box.value.charAt(at - 2))) {
        run()
      }
      timer = setTimeout(run, PAUSE_MS)
    })
    form.addEventListener('submit', function () {
      clearTimeout(timer)
      latest++
      if (controller) controller.abort()
    })
  }

  focusOnLoad()
  var form = document.getElementById('search-form')
  var box = document.getElementById('q')
  var status = document.getElementById('search-status')
  if (form && box && status && window.fetch && window.AbortController && history.replaceState) {
    resultsAsYouType(form, box, status)
  }
})()
