/* Progressive enhancement only: every page works without this file.
 * - On a record page, bring the quoted passage into view and move focus to it, so keyboard
 *   and screen-reader users start reading where the search result pointed.
 * - On a page with form errors, move focus to the error summary (GOV.UK pattern).
 */
(function () {
  'use strict'
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
})()
